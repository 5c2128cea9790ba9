import { SyncScopeError } from '@syncscope/core/errors/index';
import type { Command } from 'commander';
import type pg from 'pg';
import type { UsersIo } from './users-commands.ts';

async function withPool<T>(
  env: NodeJS.ProcessEnv,
  opsDb: string | undefined,
  fn: (pool: pg.Pool, keys: typeof import('@syncscope/core/upload-errors/ingest-keys')) => Promise<T>
) {
  // Loaded when a command runs (run-cli.ts).
  const { opsDatabaseUrl } = await import('@syncscope/core/probe/targets/demo-target');
  const { migrateOpsDatabase } = await import('@syncscope/core/ops-db/ops-database');
  const { default: pg } = await import('pg');
  const keys = await import('@syncscope/core/upload-errors/ingest-keys');
  const url = opsDb ?? opsDatabaseUrl(env, 'owner');
  await migrateOpsDatabase(url);
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  try {
    return await fn(pool, keys);
  } finally {
    await pool.end();
  }
}

/**
 * `syncscope ingest-keys add|list|revoke`: keys app backends use to report upload results to the console
 * (`POST /api/ingest/v1/upload-results`). A key is printed once; only its SHA-256 is stored.
 */
export function registerIngestKeysCommands(program: Command, io: Omit<UsersIo, 'readStdin'>): void {
  const keys = program
    .command('ingest-keys')
    .description('Manage the keys app backends report upload results with.');
  const opsOption = [
    '--ops-db <url>',
    'ops database URL (default: $SYNCSCOPE_OPS_DATABASE_URL, else the embedded stack)'
  ] as const;
  keys
    .command('add')
    .description('Create a key for one target; it is printed once.')
    .requiredOption('--target <name>', 'the target whose backend reports with it')
    .option('--label <text>', 'what uses the key', 'app backend')
    .option(...opsOption)
    .action(
      io.guarded(async (opts: { target: string; label: string; opsDb?: string }) => {
        const { key, info } = await withPool(io.env, opts.opsDb, (pool, keys) =>
          keys.createIngestKey(pool, {
            target: opts.target,
            label: opts.label,
            createdBy: `cli:${io.env.USER ?? 'unknown'}`
          })
        );
        io.out(`Created ingest key ${info.id} for target ${info.target} (${info.label}).\n`);
        io.out(`Key (shown once; give it to the backend as its reporter's apiKey): ${key}\n`);
        return 0;
      })
    );
  keys
    .command('list')
    .description('List ingest keys (never the keys themselves).')
    .option(...opsOption)
    .action(
      io.guarded(async (opts: { opsDb?: string }) => {
        const list = await withPool(io.env, opts.opsDb, (pool, keys) => keys.listIngestKeys(pool));
        for (const k of list)
          io.out(
            `${k.id}\t${k.target}\t${k.label}\t${k.createdAt.toISOString()}\t${k.revokedAt ? `revoked ${k.revokedAt.toISOString()}` : 'active'}\n`
          );
        if (list.length === 0)
          io.out('No ingest keys: create one with `syncscope ingest-keys add --target NAME`.\n');
        return 0;
      })
    );
  keys
    .command('revoke')
    .description('Revoke a key: reports signed with it are refused from now on.')
    .requiredOption('--id <id>', 'the key id (from `ingest-keys list`)')
    .option(...opsOption)
    .action(
      io.guarded(async (opts: { id: string; opsDb?: string }) => {
        if (!/^[0-9a-f-]{36}$/i.test(opts.id))
          throw new SyncScopeError(
            'SYNCSCOPE_E_REQUEST_INVALID',
            `"${opts.id}" is not a key id; see \`syncscope ingest-keys list\`.`
          );
        const revoked = await withPool(io.env, opts.opsDb, (pool, keys) =>
          keys.revokeIngestKey(pool, { id: opts.id, revokedBy: `cli:${io.env.USER ?? 'unknown'}` })
        );
        io.out(revoked ? `Revoked ${opts.id}.\n` : `No active key ${opts.id}.\n`);
        return revoked ? 0 : 2;
      })
    );
}
