import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { OpsDatabase } from '@syncscope/core/ops-db/ops-database';
import { createTestAuditSink } from '@syncscope/core/testing/test-audit-sink';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliCaptured } from './run-cli-captured.ts';

/** The CLI mints probe tokens only with a reason, an actor, and an ops database to audit them in first. */
describe('syncscope probe / write-probe: who, why, and audited', () => {
  let dir: string;
  let ops: OpsDatabase;
  let opsUrl: string;
  const env = () => ({
    SYNCSCOPE_HOME: dir,
    USER: 'dana',
    PROD_HS: Buffer.alloc(32, 2).toString('base64url')
  });
  const cli = (args: string[], extra: NodeJS.ProcessEnv = {}) =>
    runCliCaptured([...args, '--targets', path.join(dir, 'targets.yaml')], { env: { ...env(), ...extra } });
  const minted = async () =>
    (
      await ops.pool.query(
        "SELECT actor, reason, subject_user, details->>'purpose' AS purpose FROM syncscope.audit_log WHERE action = 'probe.token_minted' ORDER BY id"
      )
    ).rows;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'syncscope-cli-authorisation-'));
    await writeFile(path.join(dir, 'rules.yaml'), 'bucket_definitions: {}\n');
    // Nothing answers there: the probe mints (audited), then reports the sync service unreachable.
    await writeFile(
      path.join(dir, 'targets.yaml'),
      `targets:
  prod:
    sync_url: http://127.0.0.1:1
    source_url: postgres://probe@127.0.0.1:1/app
    sync_rules: { path: rules.yaml }
    signing_key: { kid: probe-1, hs256_secret: !env PROD_HS }
    audience: syncscope-probe
    upload_url: http://127.0.0.1:1/api/upload
    write_probe: { user_id: u-writer, table: records, values: {}, marker_column: title, upload_token: !env PROD_HS }
`
    );
    ops = (await createTestAuditSink('cli_authorisation')).ops;
    opsUrl = ops.pool.options.connectionString!;
  });
  afterAll(async () => {
    await ops?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it.each([['probe', '--user', 'u-alice'], ['write-probe']])(
    '%s without --reason (outside the demo target) is refused, naming the flag',
    async (...args) => {
      const r = await cli([...args, '--target', 'prod'], { SYNCSCOPE_OPS_DATABASE_URL: opsUrl });
      expect(r.code).toBe(3); // the probe could not run: the error verdict
      expect(r.stderr).toMatch(
        /^SYNCSCOPE_E_PROBE_REASON_REQUIRED: --reason TEXT is required for target "prod"/
      );
      expect(await minted()).toEqual([]);
    }
  );

  it('without an ops database there is no unaudited impersonation: refused, naming SYNCSCOPE_OPS_DATABASE_URL', async () => {
    for (const args of [['probe', '--user', 'u-alice'], ['write-probe']]) {
      const r = await cli([...args, '--target', 'prod', '--reason', 'ticket 9']);
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(/^SYNCSCOPE_E_PROBE_AUDIT_UNAVAILABLE: .*set SYNCSCOPE_OPS_DATABASE_URL/);
    }
  });

  it('audits the actor (--actor, or cli:<OS user>) and the reason before the token is minted', async () => {
    const asked = await cli(
      [
        'probe',
        '--target',
        'prod',
        '--user',
        'u-alice',
        '--reason',
        'ticket 9',
        '--actor',
        'alice@ops',
        '--json'
      ],
      { SYNCSCOPE_OPS_DATABASE_URL: opsUrl }
    );
    expect(asked.code).toBe(2); // nothing answers at the sync URL: inconclusive
    const byDefault = await cli(
      ['probe', '--target', 'prod', '--user', 'u-bob', '--reason', 'ticket 10', '--json'],
      {
        SYNCSCOPE_OPS_DATABASE_URL: opsUrl
      }
    );
    expect(byDefault.code).toBe(2);
    expect(await minted()).toEqual([
      { actor: 'alice@ops', reason: 'ticket 9', subject_user: 'u-alice', purpose: 'read' },
      { actor: 'cli:dana', reason: 'ticket 10', subject_user: 'u-bob', purpose: 'read' }
    ]);
    const stored = await ops.pool.query(
      'SELECT requested_by, kind FROM syncscope.probe_runs ORDER BY started_at'
    );
    expect(stored.rows).toEqual([
      { requested_by: 'alice@ops', kind: 'read' },
      { requested_by: 'cli:dana', kind: 'read' }
    ]);
  });
});
