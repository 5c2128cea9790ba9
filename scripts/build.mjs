#!/usr/bin/env node
// `npm run build` (also run by `npm ci`, as `prepare`): compiles the Node entry points the images and the
// installed `syncscope` bin run into plain JavaScript, so nothing compiles TypeScript at run time.
//
// esbuild bundles each entry with SyncScope's own workspace packages (@syncscope/*, TypeScript sources)
// inlined, and every npm dependency left as an import from node_modules: native parts (@powersync/node
// and its core extension, better-sqlite3), the rules library and pg load from their packages as they do
// from source. Code splitting keeps what a command imports on demand (`await import(…)`) in chunks of
// its own, which is what keeps `syncscope --help` fast. Everything lands flat in one folder per package
// because source files find siblings relative to their own module (import.meta.url): the worker thread's
// entry (expected-state-thread.mjs), the ops database's migrations/, the demo schema.
import { cp, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const at = (...parts) => path.join(ROOT, ...parts);

const MIGRATIONS = at('core/src/ops-db/migrations');

/** What each package's dist/ holds: bundle name → source entry, and files copied beside them. */
export const BUNDLES = [
  {
    outdir: at('agent/dist'),
    entries: {
      syncscope: at('agent/src/cli.ts'),
      // ExpectedStateWorker starts `./expected-state-thread.mjs` beside its own module.
      'expected-state-thread': at('core/src/probe/expected/expected-state-thread.ts')
    },
    copies: { migrations: MIGRATIONS }
  },
  {
    outdir: at('demo/dist'),
    entries: {
      'demo-backend': at('demo/src/backend/main.ts'),
      'compose-setup': at('demo/src/compose/main.ts')
    },
    copies: { migrations: MIGRATIONS, 'demo-schema.sql': at('demo/src/schema/demo-schema.sql') }
  }
];

/** @syncscope/* is compiled in; every other bare import stays an import of an installed package. */
const npmPackagesExternal = {
  name: 'npm-packages-external',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) =>
      args.path.startsWith('@syncscope/') ? undefined : { path: args.path, external: true }
    );
  }
};

async function buildBundle({ outdir, entries, copies }) {
  await rm(outdir, { recursive: true, force: true });
  await build({
    entryPoints: entries,
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunk-[hash]',
    sourcemap: 'linked',
    plugins: [npmPackagesExternal],
    logLevel: 'warning'
  });
  for (const [name, source] of Object.entries(copies))
    await cp(source, path.join(outdir, name), { recursive: true });
}

export async function buildAll() {
  for (const bundle of BUNDLES) await buildBundle(bundle);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const started = performance.now();
  await buildAll();
  console.log(
    `built ${BUNDLES.map((b) => path.relative(ROOT, b.outdir)).join(', ')} in ${Math.round(performance.now() - started)} ms`
  );
}
