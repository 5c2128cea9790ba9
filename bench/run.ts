/**
 * `npm run bench -- NAME [args…]`: runs bench/NAME.bench.ts with the arguments after its name, e.g.
 * `npm run bench -- probe --runs 3`. Without a name, or with --help, it lists the benchmarks with
 * their usage from README.md's table (or, for one the table lacks yet, its file's opening comment).
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const SUFFIX = '.bench.ts';

export interface Benchmark {
  name: string;
  file: string;
  /** `probe.bench.ts [sizes…] [--runs 3]`: the README's first column. */
  usage: string;
  what: string;
}

/** README rows look like "| `probe.bench.ts [sizes…]` | what | baseline |". */
function readmeRows(dir: string): Map<string, { usage: string; what: string }> {
  const rows = new Map<string, { usage: string; what: string }>();
  let text = '';
  try {
    text = readFileSync(path.join(dir, 'README.md'), 'utf8');
  } catch {
    return rows;
  }
  for (const m of text.matchAll(/^\|\s*`(([\w-]+)\.bench\.ts[^`]*)`\s*\|\s*([^|]*?)\s*\|/gm))
    rows.set(m[2]!, { usage: m[1]!, what: m[3]! });
  return rows;
}

/** The first sentence of a file's opening block comment, when it has one. */
function openingComment(file: string): string {
  const comment = /^\/\*\*([\s\S]*?)\*\//.exec(readFileSync(file, 'utf8'))?.[1] ?? '';
  const text = comment
    .replace(/^\s*\*\s?/gm, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return /^(.*?[.:])(\s|$)/.exec(text)?.[1] ?? text;
}

export function listBenchmarks(dir = BENCH_DIR): Benchmark[] {
  const readme = readmeRows(dir);
  return readdirSync(dir)
    .filter((f) => f.endsWith(SUFFIX))
    .sort()
    .map((f) => {
      const name = f.slice(0, -SUFFIX.length);
      const file = path.join(dir, f);
      return { name, file, ...(readme.get(name) ?? { usage: f, what: openingComment(file) }) };
    });
}

export function usageText(benchmarks: Benchmark[]): string {
  const width = Math.max(...benchmarks.map((b) => b.name.length));
  return [
    'Usage: npm run bench -- NAME [arguments of that benchmark]   e.g. npm run bench -- probe --runs 3',
    '',
    'Benchmarks (bench/README.md has their baselines and figures):',
    ...benchmarks.flatMap((b) => [
      `  ${b.name.padEnd(width)}  ${b.usage}`,
      `  ${' '.repeat(width)}  ${b.what}`
    ])
  ].join('\n');
}

/** Runs the named benchmark in a child process with these arguments; resolves to its exit code. */
export function runBenchmark(benchmark: Benchmark, args: string[]): Promise<number> {
  const child = spawn(process.execPath, ['--import', 'tsx', benchmark.file, ...args], { stdio: 'inherit' });
  return new Promise((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

export async function main(argv: string[]): Promise<number> {
  const benchmarks = listBenchmarks();
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h') {
    console.log(usageText(benchmarks));
    return name === undefined ? 2 : 0;
  }
  const wanted = name.endsWith(SUFFIX) ? name.slice(0, -SUFFIX.length) : name;
  const benchmark = benchmarks.find((b) => b.name === wanted);
  if (!benchmark) {
    console.error(
      `bench: there is no benchmark "${name}". Choose one of: ${benchmarks.map((b) => b.name).join(', ')} (npm run bench -- --help).`
    );
    return 2;
  }
  return runBenchmark(benchmark, args);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
