#!/usr/bin/env node
// The installed `syncscope` (agent/package.json bin): runs the compiled CLI in ../dist, which `npm ci`
// (prepare) and `npm run build` write. A file of its own because npm links a bin only when its file
// exists at install time, before prepare has built dist/.
try {
  await import('../dist/syncscope.mjs');
} catch (error) {
  if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !String(error.message).includes('dist/syncscope.mjs'))
    throw error;
  process.stderr.write('SYNCSCOPE_E_INTERNAL_ERROR: the compiled CLI is missing: run `npm run build`.\n');
  process.exit(2);
}
