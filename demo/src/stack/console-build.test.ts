import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureConsoleBuilt } from './console-build.ts';

/**
 * A repository whose `next build` is a script: it appends a line to builds.log, waits `BUILD_MS`, and
 * writes .next/BUILD_ID (or exits 1 when dashboard/FAIL exists), so a test counts builds and sees
 * whether the caller's event loop ran meanwhile.
 */
async function fakeRepo(): Promise<string> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'syncscope-console-build-'));
  const bin = path.join(root, 'node_modules', 'next', 'dist', 'bin');
  await mkdir(bin, { recursive: true });
  await mkdir(path.join(root, 'dashboard', 'app'), { recursive: true });
  await mkdir(path.join(root, 'core', 'src'), { recursive: true });
  await writeFile(path.join(root, 'dashboard', 'app', 'page.tsx'), 'export default 1;\n');
  await writeFile(path.join(root, 'core', 'src', 'index.ts'), 'export {};\n');
  await writeFile(
    path.join(bin, 'next'),
    `const fs = require('node:fs');
fs.appendFileSync('../builds.log', process.argv[2] + ' ' + process.pid + '\\n');
setTimeout(() => {
  if (fs.existsSync('FAIL')) { console.error('Type error: page.tsx'); process.exit(1); }
  fs.mkdirSync('.next', { recursive: true });
  fs.writeFileSync('.next/BUILD_ID', 'fake');
}, Number(process.env.BUILD_MS));
`
  );
  return root;
}

const builds = async (root: string) =>
  (await readFile(path.join(root, 'builds.log'), 'utf8').catch(() => '')).split('\n').filter(Boolean);

/** Loads console-build.ts in another Node process and builds (the cross-process case). */
function buildInChild(root: string, buildMs: number) {
  const script = `import('${path.join(import.meta.dirname, 'console-build.ts')}').then((m) => m.ensureConsoleBuilt(${JSON.stringify(root)}, () => {}))`;
  const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], {
    env: { ...process.env, BUILD_MS: String(buildMs) },
    stdio: 'ignore'
  });
  return { child, exit: new Promise<number | null>((resolve) => child.once('exit', resolve)) };
}

async function buildStarted(root: string): Promise<void> {
  while ((await builds(root)).length === 0) await new Promise((r) => setTimeout(r, 50));
}

describe('ensureConsoleBuilt', () => {
  let root: string;
  beforeEach(async () => {
    root = await fakeRepo();
    process.env.BUILD_MS = '600';
  });
  afterEach(async () => {
    delete process.env.BUILD_MS;
    await rm(root, { recursive: true, force: true });
  });

  it('builds once for concurrent callers, without blocking the event loop, then not again until a source changes', async () => {
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 50);
    await Promise.all([ensureConsoleBuilt(root, () => {}), ensureConsoleBuilt(root, () => {})]);
    clearInterval(ticker);
    expect(await builds(root)).toHaveLength(1);
    // 600 ms of build: a blocked event loop would have ticked not at all.
    expect(ticks).toBeGreaterThanOrEqual(6);

    await ensureConsoleBuilt(root, () => {});
    expect(await builds(root)).toHaveLength(1);

    const later = new Date(Date.now() + 5_000);
    await utimes(path.join(root, 'core', 'src', 'index.ts'), later, later);
    await ensureConsoleBuilt(root, () => {});
    expect(await builds(root)).toHaveLength(2);
  });

  it('waits for another process building the same repository instead of building too', async () => {
    const other = buildInChild(root, 1500);
    await buildStarted(root);
    const lines: string[] = [];
    await ensureConsoleBuilt(root, (line) => lines.push(line));
    expect(await other.exit).toBe(0);
    expect(await builds(root)).toHaveLength(1);
    expect(lines.join('\n')).toMatch(/Waiting for the console build of process \d+/);
  });

  it('waits for a next build that outlives the process that started it (a test worker stopped at its hook timeout)', async () => {
    const other = buildInChild(root, 2500);
    await buildStarted(root);
    other.child.kill('SIGKILL');
    await other.exit;
    await ensureConsoleBuilt(root, () => {});
    expect(await builds(root)).toHaveLength(1);
    expect(existsSync(path.join(root, 'dashboard', '.next', 'BUILD_ID'))).toBe(true);
  });

  it("rejects with the build's output when next build fails, and builds again on the next call", async () => {
    await writeFile(path.join(root, 'dashboard', 'FAIL'), '');
    await expect(ensureConsoleBuilt(root, () => {})).rejects.toThrow(
      /The console build failed \(cd dashboard && npx next build\): exit code 1\nType error: page.tsx/
    );
    await rm(path.join(root, 'dashboard', 'FAIL'));
    await ensureConsoleBuilt(root, () => {});
    expect(await builds(root)).toHaveLength(2);
  });
});
