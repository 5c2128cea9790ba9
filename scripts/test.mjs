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
try {
  const r = JSON.parse(readFileSync(report, 'utf8'));
  summary = `${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`;
} catch {}
rmSync(dir, { recursive: true, force: true });
console.log(`\n${summary}`);
process.exit(run.status ?? 1);
