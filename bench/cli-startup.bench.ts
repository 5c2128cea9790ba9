/**
 * The compiled CLI's start-up: `syncscope --help` and `probe --help` as the installed bin runs them
 * (node agent/dist/syncscope.mjs, built first), interleaved with a bare `node -e ''` in the same run.
 * Goal: ready in ≤ 0.3 s. Also the source CLI through tsx (`npm run syncscope`'s way), for reference.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fmt, median } from './lib/stats.ts';
import { BENCH_DIR } from './run.ts';

const REPO = path.resolve(BENCH_DIR, '..');
const { values } = parseArgs({ options: { runs: { type: 'string', default: '15' } } });
const runs = Number(values.runs);

const COMMANDS: Record<string, string[]> = {
  "node -e ''": ['-e', ''],
  'syncscope --help': ['agent/dist/syncscope.mjs', '--help'],
  'syncscope probe --help': ['agent/dist/syncscope.mjs', 'probe', '--help'],
  'tsx agent/src/cli.ts --help': ['--import', 'tsx', 'agent/src/cli.ts', '--help']
};

function once(args: string[]): number {
  const start = performance.now();
  const r = spawnSync(process.execPath, args, { cwd: REPO, stdio: 'ignore' });
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}`);
  return performance.now() - start;
}

execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: REPO, stdio: 'inherit' });
const times = new Map(Object.keys(COMMANDS).map((name) => [name, [] as number[]]));
for (let i = 0; i < runs; i++)
  for (const [name, args] of Object.entries(COMMANDS)) times.get(name)!.push(once(args));

const baseline = median(times.get("node -e ''")!);
console.log(`median of ${runs} runs each, interleaved (a shared machine: compare the ratios)`);
for (const [name, ms] of times) {
  const m = median(ms);
  const goal = name.startsWith('syncscope')
    ? m <= 300
      ? '  (goal ≤ 300 ms: met)'
      : '  (goal ≤ 300 ms: NOT met)'
    : '';
  console.log(
    `${name.padEnd(30)} ${fmt(m, 0).padStart(6)} ms  ${fmt(m / baseline, 2)}× bare node, +${fmt(m - baseline, 0)} ms${goal}`
  );
}
