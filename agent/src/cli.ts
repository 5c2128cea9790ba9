#!/usr/bin/env node
/** `syncscope` (npm run syncscope -- …, or the compiled agent/dist/syncscope.mjs, the package bin): probe, explain, agent. See agent/src/cli/run-cli.ts. */
import { runCli } from './cli/run-cli.ts';

const fatal = (error: unknown) => {
  // Never a stack trace: the code and the message.
  process.stderr.write(
    `SYNCSCOPE_E_INTERNAL_ERROR: ${error instanceof Error ? error.message : String(error)}\n`
  );
  process.exit(2);
};
process.on('uncaughtException', fatal);
process.on('unhandledRejection', fatal);

/** Piped stdin (e.g. `echo "$PW" | syncscope users add ...`); nothing when stdin is a terminal. */
async function readStdin(): Promise<string | undefined> {
  if (process.stdin.isTTY) return undefined;
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8') || undefined;
}

const code = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  readStdin
});
// Flush, then exit even if a client library still holds a handle open.
await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
process.exit(code);
