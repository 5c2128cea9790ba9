import { migrateOpsDatabase, OpsDatabase } from '../ops-db/ops-database.ts';
import type { ProbeTarget } from '../probe/probe-types.ts';
import { type MintedProbeToken, mintAuditedProbeToken } from '../probe/tokens/mint-probe-token.ts';
import { createTestDatabase } from './test-database.ts';

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
