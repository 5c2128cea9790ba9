import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { SyncScopeError } from '@syncscope/core';

export interface ManagedChild {
  child: ChildProcess;
  /** The last lines it wrote (for an error message when it fails to start). */
  tail(): string;
  stop(): Promise<void>;
}

/**
 * Spawns a Node process of the stack; its output is kept (last 60 lines), not echoed, and appended to
 * `logFile` when given.
 */
export function spawnNode(
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; logFile?: string }
): ManagedChild {
  const lines: string[] = [];
  const child = spawn(process.execPath, args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe']
  });
  const keep = (chunk: Buffer) => {
    lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    lines.splice(0, Math.max(0, lines.length - 60));
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  if (options.logFile) {
    const file = createWriteStream(options.logFile, { flags: 'a', mode: 0o600 });
    child.stdout!.pipe(file, { end: false });
    child.stderr!.pipe(file, { end: false });
    child.once('close', () => file.end());
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    tail: () => lines.join('\n'),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
  };
}

/** Waits until `url` answers 200 (not merely anything: another program on the port would), or the child exits, or the time is up. */
export async function waitForHttp(
  managed: ManagedChild,
  url: string,
  what: string,
  timeoutMs = 60_000
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (managed.child.exitCode !== null)
      throw new SyncScopeError(
        'SYNCSCOPE_E_INTERNAL_ERROR',
        `${what} exited while starting:\n${managed.tail()}`
      );
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000), redirect: 'manual' });
      if (response.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline)
      throw new SyncScopeError(
        'SYNCSCOPE_E_INTERNAL_ERROR',
        `${what} did not answer at ${url} within ${timeoutMs / 1000} s:\n${managed.tail()}`
      );
    await new Promise((r) => setTimeout(r, 200));
  }
}
