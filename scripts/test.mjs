#!/usr/bin/env node
// Runs the whole suite with Vitest, then prints the plain summary line CI reads: "N passed, N failed, N skipped".
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const dir = mkdtempSync(path.join(tmpdir(), 'syncscope-vitest-'));
const report = path.join(dir, 'report.json');
const args = [
  'vitest',
  'run',
  '--reporter=default',
  '--reporter=json',
  `--outputFile.json=${report}`,
  ...process.argv.slice(2)
];
const run = spawnSync('npx', args, { stdio: 'inherit' });
let summary = 'vitest produced no report';
// The exit code comes from the report as well: a failed test or suite fails the run whatever npx returns.
let failed = true;
try {
  const r = JSON.parse(readFileSync(report, 'utf8'));
  summary = `${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`;
  failed = !r.success || r.numFailedTests > 0 || r.numFailedTestSuites > 0;
} catch {}
rmSync(dir, { recursive: true, force: true });
console.log(`\n${summary}`);
process.exit(failed || run.status !== 0 ? 1 : 0);
