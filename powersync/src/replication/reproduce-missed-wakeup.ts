/**
 * Shows the walsender's missed wake-up behind late changes in the first minute after `npm start`, on a
 * real Postgres: the logical walsender is stopped in gdb at the entry of ConditionVariablePrepareToSleep
 * (after its flush check, before joining the wake-up list), a change commits, and the walsender goes on
 * to sleep past it. Prints how long the change took to reach storage and a connected client, and the
 * walsender's sent_lsn meanwhile. Before the periodic standby status: 6–12 s (until other WAL in the
 * cluster woke it; else wal_sender_timeout / 2); after: 0.3 s. Needs gdb and ptrace rights.
 *
 *   npx tsx powersync/src/replication/reproduce-missed-wakeup.ts
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findFreePort } from '@syncscope/core';
import { startEmbeddedPostgres } from '@syncscope/core/embedded-postgres/embedded-postgres';
import { readReference } from '@syncscope/core/testing/reference';
import pg from 'pg';
import pino from 'pino';
import { startDevSyncServer } from '../dev-sync-server.ts';
import { openTestClient, tokenConnector } from '../testing/client-harness.ts';
import { hs256DevConfig, mintHs256Token } from '../testing/hs256-dev-config.ts';

const started = performance.now();
const log = (...parts: unknown[]) => console.log(((performance.now() - started) / 1000).toFixed(3), ...parts);
const lsnValue = (lsn: string) => {
  const [hi = '0', lo = '0'] = lsn.split('/');
  return (BigInt(`0x${hi}`) << 32n) | BigInt(`0x${lo}`);
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Stops the walsender at its next ConditionVariablePrepareToSleep until `release` is called. */
function stopWalsenderBeforeItSleeps(pid: number) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'missed-wakeup-'));
  const flag = (name: string) => path.join(dir, name);
  writeFileSync(
    flag('commands.gdb'),
    [
      'set pagination off',
      'handle SIGURG nostop noprint pass',
      'handle SIGUSR1 nostop noprint pass',
      'break ConditionVariablePrepareToSleep',
      'continue',
      `shell touch ${flag('stopped')}`,
      `shell while [ ! -f ${flag('released')} ]; do sleep 0.02; done`,
      'delete',
      'detach',
      'quit'
    ].join('\n')
  );
  const gdb = spawn('gdb', ['-q', '-batch', '-p', String(pid), '-x', flag('commands.gdb')], {
    stdio: 'ignore'
  });
  const exited = new Promise((r) => gdb.once('exit', r));
  return {
    async stopped() {
      while (!existsSync(flag('stopped'))) await sleep(10);
    },
    async release() {
      writeFileSync(flag('released'), '');
      await exited;
    }
  };
}

async function main() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'missed-wakeup-pg-'));
  const postgres = await startEmbeddedPostgres({
    dataDir: path.join(dir, 'data'),
    port: await findFreePort(),
    host: '127.0.0.1',
    user: 'postgres',
    password: randomBytes(16).toString('hex')
  });
  const admin = new pg.Client({ connectionString: postgres.url('postgres') });
  await admin.connect();
  for (const db of ['src', 'storage', 'other']) await admin.query(`CREATE DATABASE missed_wakeup_${db}`);
  await admin.end();
  const sourceUrl = postgres.url('missed_wakeup_src');
  const storageUrl = postgres.url('missed_wakeup_storage');
  const other = new pg.Client({ connectionString: postgres.url('missed_wakeup_other') });
  const source = new pg.Pool({ connectionString: sourceUrl, max: 2 });
  await other.connect();
  await other.query('CREATE TABLE activity (id serial PRIMARY KEY)');
  await source.query(readReference('seed.sql'));
  const secret = randomBytes(32);
  const server = await startDevSyncServer({
    loaded: hs256DevConfig({
      sourceUrl,
      storageUrl,
      port: await findFreePort(),
      secret,
      rulesYaml: readReference('sync-rules.yaml')
    }),
    logger: pino({ level: 'silent' })
  });
  const client = await openTestClient();
  await client.db.connect(tokenConnector(server.url, () => mintHs256Token(secret, 'u-alice')));
  await client.db.waitForFirstSync();
  const walsender = async () =>
    (
      await source.query<{ pid: number; sent_lsn: string }>(
        "SELECT pid, sent_lsn::text FROM pg_stat_replication WHERE application_name = 'syncscope-dev-sync-server'"
      )
    ).rows[0]!;
  await sleep(2_000);
  const gdb = stopWalsenderBeforeItSleeps((await walsender()).pid);
  await sleep(1_500); // attached; the walsender sleeps
  // WAL in another database wakes the walsender; it finds nothing for the slot and heads back to sleep.
  await other.query('INSERT INTO activity DEFAULT VALUES');
  await gdb.stopped();
  const committedAt = performance.now();
  const { rows } = await source.query<{ lsn: string }>(
    "INSERT INTO records VALUES ('rec-raced', 'ws-1', 'Raced', 1, 'cat-1-1', now()) RETURNING pg_current_wal_insert_lsn()::text AS lsn"
  );
  log(
    'committed while the walsender was between its flush check and its sleep; the insert is at',
    rows[0]!.lsn
  );
  const stored = lsnValue(rows[0]!.lsn);
  const onCheckpoint = (checkpoint: { lsn: string }) => {
    if (lsnValue(checkpoint.lsn) < stored) return;
    log('in storage after', Math.round(performance.now() - committedAt), 'ms');
    server.storage.off('checkpoint', onCheckpoint);
  };
  server.storage.on('checkpoint', onCheckpoint);
  await gdb.release();
  while (!(await client.db.getOptional("SELECT 1 FROM records WHERE id = 'rec-raced'"))) {
    log('walsender sent_lsn', (await walsender()).sent_lsn);
    await sleep(500);
  }
  log('on the client after', Math.round(performance.now() - committedAt), 'ms');
  await client.close();
  await server.close();
  await source.end();
  await other.end();
  await postgres.stop();
  rmSync(dir, { recursive: true, force: true });
}

await main();
