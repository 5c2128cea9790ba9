import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt } from 'jose';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpsDatabase } from '../../ops-db/ops-database.ts';
import { createTestAuditSink } from '../../testing/test-audit-sink.ts';
import { createTestDatabase, execSql } from '../../testing/test-database.ts';
import type { ProbeTarget } from '../probe-types.ts';
import { runProbe } from '../run-probe.ts';
import { hideSigningKey, mintAuditedProbeToken } from './mint-probe-token.ts';

const SECRET = new Uint8Array(Buffer.from('an-hs256-secret-of-at-least-32-bytes!!', 'utf8'));

/**
 * A stand-in sync service that, the moment a request arrives, looks up the audit entry of the token it
 * carries on a connection of its own: only a committed entry is visible there.
 */
async function startRecordingSyncService(opsUrl: string) {
  const seen: { path: string; jti: string; auditedBeforeSeen: boolean }[] = [];
  const server = http.createServer(async (request, response) => {
    const token = (request.headers.authorization ?? '').replace(/^Token |^Bearer /, '');
    const jti = String(decodeJwt(token).jti);
    const { rowCount } = await execSql(
      opsUrl,
      "SELECT 1 FROM syncscope.audit_log WHERE action = 'probe.token_minted' AND details->>'jti' = $1",
      [jti]
    );
    seen.push({ path: request.url ?? '', jti, auditedBeforeSeen: rowCount === 1 });
    response.writeHead(401, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ error: { code: 'PSYNC_S2101', status: 401, description: 'test' } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => new Promise<void>((resolve) => server.close(() => resolve()))
  };
}

describe('every probe token is audited before it exists', () => {
  let sink: Awaited<ReturnType<typeof createTestAuditSink>>;
  let unmigrated: OpsDatabase;
  let sync: Awaited<ReturnType<typeof startRecordingSyncService>>;
  let target: ProbeTarget;
  let opsUrl: string;

  beforeAll(async () => {
    sink = await createTestAuditSink('mint_audited');
    opsUrl = sink.ops.pool.options.connectionString!;
    // A database without SyncScope's tables: the audit INSERT fails there for real.
    unmigrated = new OpsDatabase(await createTestDatabase('mint_audited_unmigrated'));
    sync = await startRecordingSyncService(opsUrl);
    target = {
      name: 'audited',
      syncUrl: sync.url,
      sourceUrl: opsUrl,
      syncRulesYaml: 'bucket_definitions:\n  global:\n    data:\n      - SELECT * FROM items\n',
      signing: hideSigningKey({ kind: 'hs256', kid: 'probe-hs', secret: SECRET }),
      audience: 'syncscope-probe'
    };
  });
  afterAll(async () => {
    await sync?.close();
    await sink?.ops.close();
    await unmigrated?.close();
  });

  const auditRows = async () =>
    (
      await sink.ops.pool.query(
        "SELECT actor, target, subject_user, reason, details FROM syncscope.audit_log WHERE action = 'probe.token_minted' ORDER BY id"
      )
    ).rows;

  it('refuses without an actor or a reason, with a code, and audits and signs nothing', async () => {
    const before = (await auditRows()).length;
    for (const [actor, reason, code] of [
      ['', 'why', 'SYNCSCOPE_E_PROBE_ACTOR_REQUIRED'],
      ['   ', 'why', 'SYNCSCOPE_E_PROBE_ACTOR_REQUIRED'],
      ['cli:ops', '', 'SYNCSCOPE_E_PROBE_REASON_REQUIRED'],
      ['cli:ops', undefined, 'SYNCSCOPE_E_PROBE_REASON_REQUIRED']
    ] as const) {
      await expect(
        mintAuditedProbeToken({
          target,
          userId: 'u-alice',
          actor,
          reason: reason as string,
          purpose: 'read',
          audit: sink.ops
        })
      ).rejects.toMatchObject({ code });
    }
    expect(await auditRows()).toHaveLength(before);
  });

  it("writes who, whom, why and the token's jti, kid, audience and expiry; the signed token carries that jti", async () => {
    const minted = await mintAuditedProbeToken({
      target,
      userId: 'u-alice',
      actor: 'cli:ops',
      reason: 'ticket 42',
      purpose: 'read',
      subscriptions: [{ stream: 'inbox', parameters: null, priority: null }],
      audit: sink.ops
    });
    expect(decodeJwt(minted.token).jti).toBe(minted.jti);
    expect((await auditRows()).at(-1)).toEqual({
      actor: 'cli:ops',
      target: 'audited',
      subject_user: 'u-alice',
      reason: 'ticket 42',
      details: {
        kid: 'probe-hs',
        jti: minted.jti,
        audience: 'syncscope-probe',
        expiresAt: minted.expiresAt.toISOString(),
        purpose: 'read',
        subscriptions: [{ stream: 'inbox', parameters: null, priority: null }]
      }
    });
  });

  it('an audit write that fails means no token: a coded error, and no request reaches the sync service', async () => {
    const attempt = mintAuditedProbeToken({
      target,
      userId: 'u-alice',
      actor: 'cli:ops',
      reason: 'ticket 42',
      purpose: 'read',
      audit: unmigrated
    });
    await expect(attempt).rejects.toMatchObject({ code: 'SYNCSCOPE_E_PROBE_AUDIT_FAILED' });

    const report = await runProbe(target, 'u-alice', {
      logger: pino({ level: 'silent' }),
      authorisation: { actor: 'cli:ops', reason: 'ticket 42', audit: unmigrated }
    });
    expect(report.verdict).toBe('error');
    expect(report.error?.code).toBe('SYNCSCOPE_E_PROBE_AUDIT_FAILED');
    expect(report.token.jti).toBe('');
    expect(sync.seen).toEqual([]);
  });

  it("a probe's token reaches the sync service only after its audit entry is committed", async () => {
    const report = await runProbe(target, 'u-bob', {
      logger: pino({ level: 'silent' }),
      deadlineMs: 5_000,
      authorisation: { actor: 'schedule:agent-1', reason: 'scheduled probe every 60 s', audit: sink.ops }
    });
    expect(sync.seen.length).toBeGreaterThan(0);
    for (const request of sync.seen) {
      expect(request.jti).toBe(report.token.jti);
      expect(request.auditedBeforeSeen).toBe(true);
    }
    const rows = (await auditRows()).filter((r) => r.subject_user === 'u-bob');
    expect(rows).toEqual([
      expect.objectContaining({
        actor: 'schedule:agent-1',
        reason: 'scheduled probe every 60 s',
        details: expect.objectContaining({ jti: report.token.jti })
      })
    ]);
  });
});
