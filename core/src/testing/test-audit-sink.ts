import pg from 'pg';
import { expect } from 'vitest';
import { migrateOpsDatabase, OpsDatabase } from '../ops-db/ops-database.ts';
import type { ProbeTarget } from '../probe/probe-types.ts';
import { type MintedProbeToken, mintAuditedProbeToken } from '../probe/tokens/mint-probe-token.ts';
import { createTestDatabase, execSql } from './test-database.ts';

/**
 * A migrated ops database of a test's own, so tests that need probe tokens mint them the one audited
 * way, into a real audit_log; `mint` is that call with actor and reason `test`.
 */
export async function createTestAuditSink(name: string): Promise<{
  ops: OpsDatabase;
  mint(
    target: ProbeTarget,
    userId: string,
    claims?: Record<string, unknown>,
    ttlSeconds?: number
  ): Promise<MintedProbeToken>;
}> {
  const url = await createTestDatabase(name);
  await migrateOpsDatabase(url);
  const ops = new OpsDatabase(url);
  return {
    ops,
    mint: (target, userId, claims, ttlSeconds) =>
      mintAuditedProbeToken({
        target,
        userId,
        claims,
        ttlSeconds,
        actor: 'test',
        reason: 'test',
        purpose: 'read',
        audit: ops
      })
  };
}

/**
 * Runs `fn` while the ops database at `url` refuses audit entries of `action` (as a full disk or a broken
 * constraint would refuse any insert) and expects it to fail with that refusal.
 */
export async function whileAuditRefuses(
  url: string,
  action: string,
  fn: () => Promise<unknown>
): Promise<void> {
  await execSql(
    url,
    `ALTER TABLE syncscope.audit_log ADD CONSTRAINT refuse_for_test CHECK (action <> ${pg.escapeLiteral(action)}) NOT VALID`
  );
  try {
    await expect(fn()).rejects.toThrow(/refuse_for_test/);
  } finally {
    await execSql(url, 'ALTER TABLE syncscope.audit_log DROP CONSTRAINT refuse_for_test');
  }
}
