import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { BENCH_DIR, listBenchmarks, runBenchmark } from './run.ts';

const run = (args: string[]) =>
  promisify(execFile)(process.execPath, ['--import', 'tsx', path.join(BENCH_DIR, 'run.ts'), ...args], {
    cwd: path.dirname(BENCH_DIR)
  }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => e
  );

describe('npm run bench', () => {
  it('--help lists every benchmark in bench/ with its usage', async () => {
    const { code, stdout } = await run(['--help']);
    expect(code).toBe(0);
    const files = (await readdir(BENCH_DIR)).filter((f) => f.endsWith('.bench.ts'));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) expect(stdout).toContain(`  ${f.replace('.bench.ts', '')} `);
    expect(stdout).toContain('probe.bench.ts [sizes…] [--runs 3]');
  });

  it('an unknown name exits 2 naming the benchmarks there are', async () => {
    const { code, stdout, stderr } = await run(['prbe', '--runs', '3']);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(
      /^bench: there is no benchmark "prbe"\. Choose one of: .*\bprobe\b.*\(npm run bench -- --help\)\.\n$/
    );
  });

  it('runs the named benchmark with the arguments after its name, and passes on its exit code', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'syncscope-bench-'));
    try {
      await writeFile(
        path.join(dir, 'echo.bench.ts'),
        '/** Echoes its arguments. */\nconsole.log(JSON.stringify(process.argv.slice(2)));\nprocess.exitCode = 7;\n'
      );
      const [echo] = listBenchmarks(dir);
      expect(echo).toMatchObject({ name: 'echo', usage: 'echo.bench.ts', what: 'Echoes its arguments.' });
      await expect(runBenchmark(echo!, ['--runs', '3'])).resolves.toBe(7);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
