#!/usr/bin/env node
// `node scripts/assemble-console.mjs OUT`: the console as its image runs it, from `next build`'s
// standalone output (dashboard/next.config.ts `output: 'standalone'`): the traced server files and
// node_modules, the static assets Next leaves out of it, and dashboard/server.mjs in place of Next's
// server.js (ours also writes the socket's peer address into x-syncscope-peer; see server.mjs). The
// Dockerfile's console stage and dashboard/src/e2e/standalone-console.test.ts both run it.
import { cp, mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const DASHBOARD = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'dashboard');

export async function assembleConsole(out) {
  const standalone = path.join(DASHBOARD, '.next', 'standalone');
  await stat(standalone).catch(() => {
    throw new Error(`${standalone} is missing: run \`npm run build -w dashboard\` first.`);
  });
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  await cp(standalone, out, { recursive: true, verbatimSymlinks: true });
  await cp(path.join(DASHBOARD, '.next', 'static'), path.join(out, 'dashboard', '.next', 'static'), {
    recursive: true
  });
  await cp(path.join(DASHBOARD, 'server.mjs'), path.join(out, 'dashboard', 'server.mjs'));
  await rm(path.join(out, 'dashboard', 'server.js'));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = process.argv[2];
  if (!out) {
    console.error('Usage: node scripts/assemble-console.mjs OUT_DIR');
    process.exit(2);
  }
  await assembleConsole(path.resolve(out));
  console.log(`console assembled in ${out}: node ${path.join(out, 'dashboard', 'server.mjs')}`);
}
