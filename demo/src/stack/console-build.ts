import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { open, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SyncScopeError } from '@syncscope/core';

const NEXT_BIN = ['node_modules', 'next', 'dist', 'bin', 'next'];
/** How often a process waiting for another's build looks at its lock. */
const LOCK_POLL_MS = 500;
/** A lock file still without a pid this long after its creation was left by a process that died at once. */
const ORPHAN_LOCK_MS = 10_000;

/** Newest modification time under `dir` (source files only). */
function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === '.next' || entry.name.startsWith('.')) continue;
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : statSync(full).mtimeMs);
  }
  return newest;
}

function isBuildFresh(repoRoot: string): boolean {
  const buildId = path.join(repoRoot, 'dashboard', '.next', 'BUILD_ID');
  const builtAt = existsSync(buildId) ? statSync(buildId).mtimeMs : 0;
  return (
    builtAt >
    Math.max(newestMtime(path.join(repoRoot, 'dashboard')), newestMtime(path.join(repoRoot, 'core', 'src')))
  );
}

/** Builds in progress in this process, by repository: concurrent callers share one. */
const building = new Map<string, Promise<void>>();

/**
 * Builds the console (next build) when there is no build or its sources (dashboard/ or core/) changed
 * since; a production build is what operators run and what the benchmarks measure. The build runs as a
 * child process without blocking this one's event loop; callers in this process share one build, and
 * other processes (another test run, `npm start`, a benchmark) wait on a lock file for it instead of
 * building into the same `.next` folder at once.
 */
export function ensureConsoleBuilt(repoRoot: string, log: (line: string) => void): Promise<void> {
  const root = path.resolve(repoRoot);
  let build = building.get(root);
  if (!build) {
    build = buildUnlessFresh(root, log).finally(() => building.delete(root));
    building.set(root, build);
  }
  return build;
}

async function buildUnlessFresh(repoRoot: string, log: (line: string) => void): Promise<void> {
  if (isBuildFresh(repoRoot)) return;
  const lock = await lockBuild(repoRoot, log);
  try {
    // Another process may have built while this one waited for the lock.
    if (isBuildFresh(repoRoot)) return;
    log('Building the console (next build; once, and again after source changes)...');
    await nextBuild(repoRoot, lock.builder);
  } finally {
    await lock.release();
  }
}

/** Resolves when `next build` exits 0; rejects with its output's tail otherwise. */
async function nextBuild(repoRoot: string, started: (pid: number) => Promise<void>): Promise<void> {
  const dashboard = path.join(repoRoot, 'dashboard');
  const child = spawn(process.execPath, [path.join(repoRoot, ...NEXT_BIN), 'build'], {
    cwd: dashboard,
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' },
    stdio: ['ignore', 'pipe', 'pipe']
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<void>((resolve, reject) => {
    const failed = (why: string) =>
      new SyncScopeError(
        'SYNCSCOPE_E_INTERNAL_ERROR',
        `The console build failed (cd dashboard && npx next build): ${why}\n${output}`
      );
    child.once('error', (error) => reject(failed(error.message)));
    child.once('close', (code, signal) =>
      code === 0 ? resolve() : reject(failed(signal ? `killed by ${signal}` : `exit code ${code}`))
    );
  });
  if (child.pid) await started(child.pid);
  return exited;
}

interface BuildLock {
  /** Adds the `next build` process to the lock: it outlives a test worker stopped at a hook timeout. */
  builder(pid: number): Promise<void>;
  release(): Promise<void>;
}

/**
 * Takes the repository's build lock (a file in the temp folder holding the pids of the process that took
 * it and of its `next build`), waiting while either lives; a lock whose processes all died is taken over.
 */
async function lockBuild(repoRoot: string, log: (line: string) => void): Promise<BuildLock> {
  const hash = createHash('sha256').update(repoRoot).digest('hex').slice(0, 16);
  const file = path.join(os.tmpdir(), `syncscope-console-build-${hash}.lock`);
  let waiting = false;
  for (;;) {
    try {
      const handle = await open(file, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      return {
        builder: (pid) => writeFile(file, `${process.pid} ${pid}`).catch(() => {}),
        release: () => unlink(file).catch(() => {})
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holders = (await readFile(file, 'utf8').catch(() => '')).split(' ').filter(Boolean).map(Number);
    if (holders.length > 0 ? !holders.some(isAlive) : await olderThan(file, ORPHAN_LOCK_MS)) {
      await unlink(file).catch(() => {});
      continue;
    }
    if (!waiting) log(`Waiting for the console build of process ${holders[0] ?? '(starting)'} (${file})...`);
    waiting = true;
    await sleep(LOCK_POLL_MS);
  }
}

async function olderThan(file: string, ms: number): Promise<boolean> {
  const info = await stat(file).catch(() => null);
  return info !== null && Date.now() - info.mtimeMs > ms;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
