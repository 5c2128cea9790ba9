/**
 * Replication lag under a steady write load (default 500 writes/s for 10 s): from a committed Postgres
 * change to (a) the dev server's storage having it, and (b) a connected @powersync/node client's view.
 * (a) is the server's own share, measured in the same run as the baseline for (b).
 *
 *   npx tsx bench/replication-lag.bench.ts [--rate 500] [--seconds 10]
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { column, Schema, Table } from '@powersync/node';
import { findFreePort } from '@syncscope/core';
import { startDevSyncServer } from '@syncscope/powersync/dev-sync-server';
import { openTestClient, tokenConnector } from '@syncscope/powersync/testing/client-harness';
import { hs256DevConfig, mintHs256Token } from '@syncscope/powersync/testing/hs256-dev-config';
import pg from 'pg';
import pino from 'pino';
import { startBenchPostgres } from './lib/bench-postgres.ts';
import { fmt, percentile } from './lib/stats.ts';

const RULES = `bucket_definitions:
  by_workspace:
    parameters: SELECT workspace_id FROM workspace_memberships WHERE user_id = request.user_id()
    data:
      - SELECT * FROM records WHERE workspace_id = bucket.workspace_id
`;

async function main() {
  const { values } = parseArgs({
    options: { rate: { type: 'string', default: '500' }, seconds: { type: 'string', default: '10' } }
  });
  const rate = Number(values.rate);
  const seconds = Number(values.seconds);
  const pgs = await startBenchPostgres();
  const sourceUrl = await pgs.createDatabase('lag_src');
  const storageUrl = await pgs.createDatabase('lag_storage');
  const setup = new pg.Client({ connectionString: sourceUrl });
  await setup.connect();
  await setup.query(`CREATE TABLE workspace_memberships(id text primary key, user_id text, workspace_id text);
    CREATE TABLE records(id text primary key, workspace_id text, title text, seq bigint);
    CREATE PUBLICATION powersync FOR ALL TABLES;
    INSERT INTO workspace_memberships VALUES ('m1', 'u-lag', 'ws-1');
    INSERT INTO records SELECT 'rec-'||i, 'ws-1', 'row '||i, 0 FROM generate_series(1, 100) i;`);
  await setup.end();
  const secret = randomBytes(32);
  const server = await startDevSyncServer({
    loaded: hs256DevConfig({ sourceUrl, storageUrl, port: await findFreePort(), secret, rulesYaml: RULES }),
    logger: pino({ level: 'silent' })
  });
  const client = await openTestClient(
    new Schema({ records: new Table({ workspace_id: column.text, title: column.text, seq: column.integer }) })
  );
  await client.db.connect(tokenConnector(server.url, () => mintHs256Token(secret, 'u-lag')));
  await client.db.waitForFirstSync();

  const committedAt = new Map<number, number>();
  const storageLag: number[] = [];
  const clientLag: number[] = [];
  // Server side: each write returns a WAL position before its commit; once the storage checkpoint's LSN
  // passes it, the dev server holds the write.
  const lsnOf = (text: string) => {
    const [hi = '0', lo = '0'] = text.split('/');
    return (BigInt(`0x${hi}`) << 32n) | BigInt(`0x${lo}`);
  };
  const awaitingStorage = new Map<number, bigint>();
  const onCheckpoint = (checkpoint: { lsn: string }) => {
    const stored = lsnOf(checkpoint.lsn);
    const now = performance.now();
    for (const [seq, lsn] of awaitingStorage) {
      if (lsn <= stored) {
        storageLag.push(now - committedAt.get(seq)!);
        awaitingStorage.delete(seq);
      }
    }
  };
  server.storage.on('checkpoint', onCheckpoint);
  // Client side: the client's view, watched for the highest sequence number it holds.
  let lastSeenClient = 0;
  const watcher = setInterval(async () => {
    const row = await client.db.get<{ seq: number | null }>(
      'SELECT max(CAST(seq AS INTEGER)) AS seq FROM records'
    );
    const seq = row.seq ?? 0;
    const now = performance.now();
    for (let s = lastSeenClient + 1; s <= seq; s++)
      if (committedAt.has(s)) clientLag.push(now - committedAt.get(s)!);
    lastSeenClient = Math.max(lastSeenClient, seq);
  }, 5);

  const writers = new pg.Pool({ connectionString: sourceUrl, max: 8 });
  writers.on('error', () => {});
  const total = rate * seconds;
  const started = performance.now();
  const inflight: Promise<unknown>[] = [];
  for (let seq = 1; seq <= total; seq++) {
    const due = started + (seq * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    inflight.push(
      writers
        .query<{ lsn: string }>(
          'UPDATE records SET seq = $1, title = $2 WHERE id = $3 RETURNING pg_current_wal_insert_lsn()::text AS lsn',
          [seq, `write ${seq}`, `rec-${(seq % 100) + 1}`]
        )
        .then(({ rows }) => {
          committedAt.set(seq, performance.now());
          awaitingStorage.set(seq, lsnOf(rows[0]!.lsn));
        })
    );
  }
  await Promise.all(inflight);
  const achieved = total / ((performance.now() - started) / 1000);
  const deadline = Date.now() + 30_000;
  while ((lastSeenClient < total || awaitingStorage.size > 0) && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 50));
  clearInterval(watcher);
  server.storage.off('checkpoint', onCheckpoint);
  await new Promise((r) => setTimeout(r, 50));

  console.log(
    `replication lag under ${fmt(achieved, 0)} writes/s for ${seconds} s (${fmt(total, 0)} single-row transactions)`
  );
  console.log(
    `commit → dev server storage: p50 ${fmt(percentile(storageLag, 50), 1)} ms, p95 ${fmt(percentile(storageLag, 95), 1)} ms, max ${fmt(Math.max(...storageLag), 1)} ms (n=${storageLag.length})`
  );
  console.log(
    `commit → client view:        p50 ${fmt(percentile(clientLag, 50), 1)} ms, p95 ${fmt(percentile(clientLag, 95), 1)} ms, max ${fmt(Math.max(...clientLag), 1)} ms (n=${clientLag.length}); client/server p50 ratio ${fmt(percentile(clientLag, 50) / percentile(storageLag, 50), 2)}×`
  );
  await client.close();
  await server.close();
  await writers.end();
  await pgs.stop();
}

await main();
