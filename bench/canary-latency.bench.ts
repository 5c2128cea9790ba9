/**
 * Postgres write → a live canary's updated verdict, against the same write seen by a `@powersync/node`
 * watch query of the same user, in the same process at the same time. Each change is a single-row
 * UPDATE of one of the user's records, committed once both have seen the previous one (after a random
 * 0–20 ms pause). The canary has seen a change when it published a verdict from a comparison of that row,
 * re-read from the source after the stream delivered it; the client when its watch query (throttle 0)
 * returns the new title.
 *
 * Prints p50, p95 and max of both, the ratio of the canary's to the client's, and the canary's p95 added
 * to the client's; median of the runs. Goals: ratio ≤ 2×, p95 added < 100 ms.
 *
 *   npx tsx bench/canary-latency.bench.ts [--changes 300] [--runs 3]
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { column, Schema, Table } from '@powersync/node';
import { findFreePort } from '@syncscope/core';
import { type CanaryStatus, HeldCanary } from '@syncscope/core/canary/held-canary';
import { migrateOpsDatabase, OpsDatabase } from '@syncscope/core/ops-db/ops-database';
import type { ProbeTarget } from '@syncscope/core/probe/probe-types';
import { applyDemoSchema } from '@syncscope/demo/schema/index';
import { DEMO_USERS, seedDemoData } from '@syncscope/demo/seed/index';
import { type DevSyncServer, startDevSyncServer } from '@syncscope/powersync/dev-sync-server';
import { openTestClient, type TestClient, tokenConnector } from '@syncscope/powersync/testing/client-harness';
import {
  hs256DevConfig,
  mintHs256Token,
  TEST_API_TOKEN,
  TEST_AUDIENCE,
  TEST_KID
} from '@syncscope/powersync/testing/hs256-dev-config';
import pg from 'pg';
import pino from 'pino';
import { startBenchPostgres } from './lib/bench-postgres.ts';
import { fmt, median, percentile } from './lib/stats.ts';

const RULES_PATH = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../powersync/sync_rules.yaml');
const GIVE_UP_MS = 20_000;
const ROWS = 5;
const USER = DEMO_USERS.alice.id;

interface Figures {
  p50: number;
  p95: number;
  max: number;
}
interface RunFigures {
  client: Figures;
  canary: Figures;
  /** Per change: canary − client. */
  addedP95: number;
  mismatches: number;
}

const figuresOf = (ms: number[]): Figures => ({
  p50: percentile(ms, 50),
  p95: percentile(ms, 95),
  max: Math.max(...ms)
});

/** Resolves when `seen(value)` is true for a value pushed after the call. */
class Waiter<T> {
  private waiting: { seen: (v: T) => boolean; done: (at: number) => void } | null = null;
  push(value: T) {
    if (this.waiting?.seen(value)) {
      this.waiting.done(performance.now());
      this.waiting = null;
    }
  }
  until(seen: (v: T) => boolean): Promise<number> {
    return new Promise((resolve) => {
      this.waiting = { seen, done: resolve };
      setTimeout(() => resolve(Number.NaN), GIVE_UP_MS);
    });
  }
}

async function oneRun(pgs: Awaited<ReturnType<typeof startBenchPostgres>>, run: number, changes: number) {
  const sourceUrl = await pgs.createDatabase(`canary_src_${run}`);
  const storageUrl = await pgs.createDatabase(`canary_storage_${run}`);
  const opsUrl = await pgs.createDatabase(`canary_ops_${run}`);
  await migrateOpsDatabase(opsUrl);
  const ops = new OpsDatabase(opsUrl);
  const source = new pg.Pool({ connectionString: sourceUrl, max: 2 });
  await applyDemoSchema(source);
  await seedDemoData(source, { records: 200 });
  const { rows } = await source.query<{ id: string }>(
    `SELECT r.id FROM records r JOIN workspace_memberships m USING (workspace_id)
     WHERE m.user_id = $1 ORDER BY r.id LIMIT ${ROWS}`,
    [USER]
  );
  const ids = rows.map((r) => r.id);
  const secret = randomBytes(32);
  const rulesYaml = await readFile(RULES_PATH, 'utf8');
  let server: DevSyncServer | null = null;
  let client: TestClient | null = null;
  let canary: HeldCanary | null = null;
  const stop = new AbortController();
  try {
    server = await startDevSyncServer({
      loaded: hs256DevConfig({ sourceUrl, storageUrl, port: await findFreePort(), secret, rulesYaml }),
      logger: pino({ level: 'silent' })
    });
    const target: ProbeTarget = {
      name: 'bench',
      syncUrl: server.url,
      adminUrl: server.url,
      adminToken: TEST_API_TOKEN,
      sourceUrl,
      syncRulesYaml: rulesYaml,
      signing: { kind: 'hs256', kid: TEST_KID, secret },
      audience: TEST_AUDIENCE
    };
    const canarySeen = new Waiter<CanaryStatus>();
    canary = new HeldCanary({
      target,
      user: { userId: USER, subscriptions: [] },
      settings: { settleMs: 10_000, reconcileMs: 3_600_000 },
      authorisation: { actor: 'bench', reason: 'canary latency benchmark', audit: ops },
      onStatus: (s) => canarySeen.push(s)
    });
    canary.start();
    client = await openTestClient(
      new Schema({ records: new Table({ workspace_id: column.text, title: column.text }) })
    );
    await client.db.connect(tokenConnector(server.url, () => mintHs256Token(secret, USER)));
    await client.db.waitForFirstSync();
    while (canary.status.verdict !== 'consistent') await new Promise((r) => setTimeout(r, 50));
    const clientSeen = new Waiter<Map<string, string>>();
    client.db.watch(
      `SELECT id, title FROM records WHERE id IN (${ids.map(() => '?').join(', ')})`,
      ids,
      {
        onResult: (r) =>
          clientSeen.push(
            new Map((r.rows?._array ?? []).map((row: { id: string; title: string }) => [row.id, row.title]))
          )
      },
      { signal: stop.signal, throttleMs: 0 }
    );
    const clientMs: number[] = [];
    const canaryMs: number[] = [];
    const added: number[] = [];
    let mismatches = 0;
    for (let i = 0; i < changes; i++) {
      const id = ids[i % ids.length]!;
      const title = `bench-${run}-${i}`;
      const byClient = clientSeen.until((m) => m.get(id) === title);
      const byCanary = canarySeen.until((s) => {
        if (s.verdict === 'mismatch') mismatches++;
        return (
          s.lastComparison?.kind === 'touched' &&
          s.lastComparison.keys?.includes(`records/${id}`) === true &&
          s.verdict === 'consistent'
        );
      });
      await source.query('UPDATE records SET title = $1 WHERE id = $2', [title, id]);
      const committed = performance.now();
      const [c, k] = await Promise.all([byClient, byCanary]);
      const clientAt = Number.isNaN(c) ? committed + GIVE_UP_MS : c;
      const canaryAt = Number.isNaN(k) ? committed + GIVE_UP_MS : k;
      clientMs.push(clientAt - committed);
      canaryMs.push(canaryAt - committed);
      added.push(canaryAt - clientAt);
      await new Promise((r) => setTimeout(r, Math.random() * 20));
    }
    return {
      client: figuresOf(clientMs),
      canary: figuresOf(canaryMs),
      addedP95: percentile(added, 95),
      mismatches
    } satisfies RunFigures;
  } finally {
    stop.abort();
    await canary?.close();
    await client?.close();
    await server?.close();
    await source.end();
    await ops.close();
  }
}

async function main() {
  const { values } = parseArgs({
    options: { changes: { type: 'string', default: '300' }, runs: { type: 'string', default: '3' } }
  });
  const changes = Number(values.changes);
  const pgs = await startBenchPostgres();
  const runs: RunFigures[] = [];
  try {
    for (let run = 1; run <= Number(values.runs); run++) {
      const r = await oneRun(pgs, run, changes);
      runs.push(r);
      console.log(
        `run ${run}: client p50 ${fmt(r.client.p50)} / p95 ${fmt(r.client.p95)} / max ${fmt(r.client.max, 0)} ms; ` +
          `canary p50 ${fmt(r.canary.p50)} / p95 ${fmt(r.canary.p95)} / max ${fmt(r.canary.max, 0)} ms; ` +
          `added p95 ${fmt(r.addedP95)} ms; mismatch verdicts ${r.mismatches}`
      );
    }
  } finally {
    await pgs.stop();
  }
  const med = (side: 'client' | 'canary', key: keyof Figures) => median(runs.map((r) => r[side][key]));
  const addedP95 = median(runs.map((r) => r.addedP95));
  console.log(`\nwrite → seen, ${changes} single-row updates, median of ${runs.length} runs:`);
  for (const side of ['client', 'canary'] as const)
    console.log(
      `  ${side === 'client' ? '@powersync/node watch' : 'canary verdict      '}  p50 ${fmt(med(side, 'p50'))} ms, p95 ${fmt(med(side, 'p95'))} ms, max ${fmt(med(side, 'max'), 0)} ms`
    );
  console.log(
    `  canary / client: p50 ${fmt(med('canary', 'p50') / med('client', 'p50'), 2)}×, p95 ${fmt(med('canary', 'p95') / med('client', 'p95'), 2)}× (goal ≤ 2×); p95 added ${fmt(addedP95)} ms (goal < 100 ms)`
  );
}

await main();
