import { runCli } from './run-cli.ts';

/** Runs the CLI in-process as a test would from a shell: its exit code and everything it printed. */
export async function runCliCaptured(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; stdin?: string } = {}
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
    env: options.env ?? {},
    readStdin: async () => options.stdin
  });
  return { code, stdout, stderr };
}
