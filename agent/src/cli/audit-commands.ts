import { SyncScopeError } from '@syncscope/core/errors/index';
import type { Logger } from '@syncscope/core/logging/logger';
import { type ChainVerdict, verifyAuditChain } from '@syncscope/core/ops-db/audit-chain';
import type { Command } from 'commander';
import type pg from 'pg';
import type { UsersIo } from './users-commands.ts';

/** The verdict as people read it: the count and head, or the first bad entry and what is wrong with it. */
export function describeVerdict(verdict: ChainVerdict): string {
  if (verdict.intact)
    return `Audit log intact: ${verdict.entries} entries, head ${verdict.head.hash} (entry ${verdict.head.seq}).\nRecord the head elsewhere and pass it as --expect-head later: a rewritten chain will not hold it.\n`;
  const where = verdict.entry
    ? `entry id ${verdict.entry.id} (chain place ${verdict.entry.seq}, at ${verdict.entry.at})`
    : 'the chain';
  return `Audit log tampered with (${verdict.problem}) at ${where}: ${verdict.detail}. ${verdict.entries} entries before it are intact.\n`;
}

/**
 * Logs the audit chain's head (or the first bad entry) when an agent starts: a head kept in the logs,
 * outside the database, is what `audit verify --expect-head` later checks a rewritten chain against.
 */
export async function logAuditHead(db: Pick<pg.Pool, 'query'>, logger: Logger): Promise<void> {
  try {
    const verdict = await verifyAuditChain(db);
    if (verdict.intact)
      logger.info({ auditHead: verdict.head, entries: verdict.entries }, 'audit log intact');
    else
      logger.error(
        { problem: verdict.problem, entry: verdict.entry, detail: verdict.detail },
        'audit log tampered with'
      );
  } catch (error) {
    logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'audit log not verified');
  }
}

/**
 * `syncscope audit verify [--expect-head HASH] [--json]`: recomputes the audit log's hash chain. Exit 0
 * intact, 1 tampered with (the first bad entry named), 2 could not run.
 */
export function registerAuditCommands(program: Command, io: Omit<UsersIo, 'readStdin'>): void {
  const audit = program.command('audit').description("Check SyncScope's audit log.");
  audit
    .command('verify')
    .description('Recompute the hash chain; name the first edited, deleted or reordered entry.')
    .option(
      '--expect-head <hash>',
      'a head printed by an earlier verify (or logged by an agent) that must still be in the chain'
    )
    .option('--json', 'print the verdict as JSON')
    .option(
      '--ops-db <url>',
      'ops database URL (default: $SYNCSCOPE_OPS_DATABASE_URL, else the embedded stack)'
    )
    .addHelpText('after', '\nExit codes: 0 intact, 1 tampered with, 2 could not run.')
    .action(
      io.guarded(async (opts: { expectHead?: string; json?: boolean; opsDb?: string }) => {
        if (opts.expectHead !== undefined && !/^[0-9a-f]{64}$/i.test(opts.expectHead))
          throw new SyncScopeError(
            'SYNCSCOPE_E_REQUEST_INVALID',
            '--expect-head takes the 64 hex digits of a head hash printed by `syncscope audit verify`.'
          );
        const { opsDatabaseUrl } = await import('@syncscope/core/probe/targets/demo-target');
        const { default: pg } = await import('pg');
        const pool = new pg.Pool({ connectionString: opts.opsDb ?? opsDatabaseUrl(io.env), max: 1 });
        try {
          const verdict = await verifyAuditChain(pool, { expectHead: opts.expectHead });
          io.out(opts.json ? `${JSON.stringify(verdict, null, 2)}\n` : describeVerdict(verdict));
          return verdict.intact ? 0 : 1;
        } finally {
          await pool.end();
        }
      })
    );
}
