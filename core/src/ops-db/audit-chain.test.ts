import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, execSql } from '../testing/test-database.ts';
import { entryEncoding, GENESIS_HASH, verifyAuditChain } from './audit-chain.ts';
import { appendAudit, migrateOpsDatabase } from './ops-database.ts';

let url: string;
let pool: pg.Pool;

beforeAll(async () => {
  url = await createTestDatabase('ops_audit_chain');
  await migrateOpsDatabase(url);
  pool = new pg.Pool({ connectionString: url, max: 8 });
});
afterAll(() => pool.end());

/** A superuser's edit, with the append-only triggers out of the way as only a superuser can. */
async function asSuperuserBehindTheTriggers(sql: string): Promise<void> {
  await execSql(url, `SET session_replication_role = replica; ${sql}; SET session_replication_role = origin`);
}

async function fiveEntries(): Promise<string[]> {
  await asSuperuserBehindTheTriggers(
    "DELETE FROM syncscope.audit_log; UPDATE syncscope.audit_chain_head SET seq = 0, hash = '\\x" +
      GENESIS_HASH +
      "'"
  );
  for (const n of [1, 2, 3, 4, 5])
    await appendAudit(pool, {
      actor: `ops-${n}`,
      action: 'probe.token_minted',
      target: 'demo',
      subjectUser: `u-${n}`,
      reason: `ticket ${n} "quoted" \\ ü\n`,
      details: { jti: `j${n}`, nested: { b: [1, 2.5, null], a: 'x' } }
    });
  const { rows } = await pool.query<{ id: string }>('SELECT id::text FROM syncscope.audit_log ORDER BY seq');
  return rows.map((r) => r.id);
}

describe('the hash-chained audit log', () => {
  let ids: string[];
  beforeEach(async () => {
    ids = await fiveEntries();
  });

  it('verifies an intact chain, giving the entry count and the head hash', async () => {
    const verdict = await verifyAuditChain(pool);
    const head = await pool.query(
      "SELECT seq::text, encode(hash, 'hex') AS hash FROM syncscope.audit_log ORDER BY seq DESC LIMIT 1"
    );
    expect(verdict).toEqual({ intact: true, entries: 5, head: head.rows[0] });
    expect(await verifyAuditChain(pool, { expectHead: head.rows[0].hash, pageSize: 2 })).toMatchObject({
      intact: true
    });
  });

  it('is intact when entries are appended while it walks (a busy console is not a changed tail)', async () => {
    let appended = false;
    // Appends an entry right after the walk has read its last page, as a console serving requests would.
    const busy = {
      query: async (sql: string, params?: unknown[]) => {
        const result = await pool.query(sql, params);
        if (!appended && sql.includes('FROM syncscope.audit_log e') && result.rows.length === 0) {
          appended = true;
          await appendAudit(pool, { actor: 'ops-6', action: 'console.signed_in' });
        }
        return result;
      }
    } as Pick<pg.Pool, 'query'>;
    expect(await verifyAuditChain(busy, { pageSize: 2 })).toMatchObject({ intact: true, entries: 5 });
    expect(appended).toBe(true);
    expect(await verifyAuditChain(pool)).toMatchObject({ intact: true, entries: 6 });
  });

  it('overwrites hashes and chain places a client sends', async () => {
    await pool.query(
      "INSERT INTO syncscope.audit_log (actor, action, seq, prev_hash, hash, at) VALUES ('x', 'user.added', 99, '\\x01', '\\x02', '2001-01-01')"
    );
    const { rows } = await pool.query(
      "SELECT seq::int, at > now() - interval '1 minute' AS recent FROM syncscope.audit_log WHERE actor = 'x'"
    );
    expect(rows).toEqual([{ seq: 6, recent: true }]);
    expect(await verifyAuditChain(pool)).toMatchObject({ intact: true, entries: 6 });
  });

  it('names an entry whose reason a superuser edited', async () => {
    await asSuperuserBehindTheTriggers(
      `UPDATE syncscope.audit_log SET reason = 'nothing to see' WHERE id = ${ids[2]}`
    );
    expect(await verifyAuditChain(pool)).toMatchObject({
      intact: false,
      entries: 2,
      problem: 'hash-mismatch',
      entry: { id: ids[2], seq: '3' }
    });
  });

  it('names the entry after one a superuser deleted', async () => {
    await asSuperuserBehindTheTriggers(`DELETE FROM syncscope.audit_log WHERE id = ${ids[1]}`);
    expect(await verifyAuditChain(pool)).toMatchObject({
      intact: false,
      problem: 'seq-gap',
      entry: { id: ids[2] }
    });
  });

  it('names a deleted entry even when the superuser renumbered the chain places after it', async () => {
    await asSuperuserBehindTheTriggers(
      `DELETE FROM syncscope.audit_log WHERE id = ${ids[1]}; UPDATE syncscope.audit_log SET seq = seq - 1 WHERE id > ${ids[1]}`
    );
    expect(await verifyAuditChain(pool)).toMatchObject({
      intact: false,
      problem: 'prev-hash-mismatch',
      entry: { id: ids[2] }
    });
  });

  it('names the first of two entries whose contents a superuser swapped', async () => {
    await asSuperuserBehindTheTriggers(
      `UPDATE syncscope.audit_log a SET actor = b.actor, subject_user = b.subject_user, reason = b.reason, details = b.details
       FROM syncscope.audit_log b WHERE (a.id, b.id) IN ((${ids[1]}, ${ids[3]}), (${ids[3]}, ${ids[1]}))`
    );
    expect(await verifyAuditChain(pool)).toMatchObject({
      intact: false,
      problem: 'hash-mismatch',
      entry: { id: ids[1], seq: '2' }
    });
  });

  it('finds a whole chain rewritten after a head was recorded', async () => {
    const recorded = await verifyAuditChain(pool);
    if (!recorded.intact) throw new Error('expected an intact chain');
    // The superuser edits an entry and recomputes every hash after it, as the trigger would.
    await asSuperuserBehindTheTriggers(`
      UPDATE syncscope.audit_log SET reason = 'rewritten' WHERE id = ${ids[0]};
      DO $$ DECLARE e syncscope.audit_log; prev bytea := '\\x${GENESIS_HASH}'; BEGIN
        FOR e IN SELECT * FROM syncscope.audit_log ORDER BY seq LOOP
          e.prev_hash := prev; prev := syncscope.audit_entry_hash(e);
          UPDATE syncscope.audit_log SET prev_hash = e.prev_hash, hash = prev WHERE id = e.id;
        END LOOP;
        UPDATE syncscope.audit_chain_head SET hash = prev;
      END $$`);
    expect(await verifyAuditChain(pool)).toMatchObject({ intact: true });
    expect(await verifyAuditChain(pool, { expectHead: recorded.head.hash })).toMatchObject({
      intact: false,
      problem: 'head-not-found'
    });
  });

  it('names entries deleted from the end of the chain', async () => {
    await asSuperuserBehindTheTriggers(`DELETE FROM syncscope.audit_log WHERE id = ${ids[4]}`);
    expect(await verifyAuditChain(pool)).toMatchObject({
      intact: false,
      problem: 'tail-missing',
      entries: 4
    });
  });

  it('keeps one valid chain when many connections insert at once', async () => {
    await Promise.all(
      Array.from({ length: 8 }, (_, c) =>
        (async () => {
          for (let n = 0; n < 10; n++) await appendAudit(pool, { actor: `conn-${c}`, action: 'probe.run' });
        })()
      )
    );
    expect(await verifyAuditChain(pool, { pageSize: 7 })).toMatchObject({ intact: true, entries: 85 });
  });

  it('encodes an entry exactly as the database does', async () => {
    const { rows } = await pool.query(
      `SELECT syncscope.audit_entry_encoding(seq, id, at, actor, action, target, subject_user, reason, details, prev_hash) AS sql,
        seq::text, id::text, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at, actor, action, target,
        subject_user AS "subjectUser", reason, details::text AS details, encode(prev_hash, 'hex') AS "prevHash"
       FROM syncscope.audit_log ORDER BY seq LIMIT 1`
    );
    const { sql, ...entry } = rows[0];
    expect(entryEncoding(entry)).toBe(sql);
    expect(sql).toContain('ticket 1 \\"quoted\\" \\\\ ü\\n');
  });
});
