import pg from 'pg';
import { SyncScopeError } from '../../errors/index.ts';

/** Every value as Postgres's own text form, decoded later by type OID exactly as the service does. */
export const rawTextTypes = {
  getTypeParser: () => (value: string) => value
} as unknown as pg.CustomTypesConfig;

export const DEFAULT_STATEMENT_TIMEOUT_MS = 60_000;

/** `postgres://user@host:port/db` without the password, for messages. */
export function describeSourceUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.username ? `${decodeURIComponent(u.username)}@` : ''}${u.host}${u.pathname}`;
  } catch {
    return 'the source database';
  }
}

const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNRESET',
  '28P01', // invalid_password
  '28000', // invalid_authorization_specification
  '3D000', // invalid_catalog_name (database does not exist)
  '57P03' // cannot_connect_now
]);

/** Turns a driver error into the probe's SyncScopeError; anything unexpected is returned as is. */
export function toProbeError(error: unknown, sourceUrl: string, statementTimeoutMs: number): unknown {
  if (error instanceof SyncScopeError) return error;
  const e = error as { code?: string; message?: string };
  const where = describeSourceUrl(sourceUrl);
  if (e?.code === '57014' && /statement timeout/i.test(e.message ?? '')) {
    return new SyncScopeError(
      'SYNCSCOPE_E_PROBE_SOURCE_TIMEOUT',
      `Reading ${where} for the expected state took longer than the statement timeout (${statementTimeoutMs} ms). ` +
        'A table the rules read is large and its rule could not be pushed down to an indexed filter, or another ' +
        "session holds a lock on it. Raise the probe's statement timeout, index the column the rule compares, " +
        'or probe again when the lock is released.',
      { statementTimeoutMs },
      { cause: error }
    );
  }
  if (e?.code && UNREACHABLE_CODES.has(e.code)) {
    return new SyncScopeError(
      'SYNCSCOPE_E_PG_UNREACHABLE',
      `The source Postgres ${where} could not be reached (${e.code}: ${e.message}). Check the URL, that the server runs, and the credentials.`,
      { code: e.code },
      { cause: error }
    );
  }
  if (e?.code === '42P01') {
    return new SyncScopeError(
      'SYNCSCOPE_E_SYNC_RULES_INVALID',
      `A table the sync rules read disappeared from ${where} while the probe ran: ${e.message}`,
      undefined,
      { cause: error }
    );
  }
  return error;
}

export interface SourceSession {
  client: pg.Client;
  /** The snapshot's time (transaction start) as an ISO string. */
  snapshotTakenAt: string;
  statementTimeoutMs: number;
  close(): Promise<void>;
}

/**
 * One connection in one `REPEATABLE READ READ ONLY` transaction: every read sees the same snapshot and
 * none can write. Output settings are pinned so text values have the forms the decoders expect.
 */
export async function openSourceSession(
  sourceUrl: string,
  options: { statementTimeoutMs?: number; applicationName?: string; snapshot?: string } = {}
): Promise<SourceSession> {
  const statementTimeoutMs = Math.max(
    1,
    Math.floor(options.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS)
  );
  const client = new pg.Client({
    connectionString: sourceUrl,
    types: rawTextTypes,
    application_name: options.applicationName ?? 'syncscope-probe',
    connectionTimeoutMillis: 15_000
  });
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => {});
    const mapped = toProbeError(error, sourceUrl, statementTimeoutMs);
    if (mapped instanceof SyncScopeError) throw mapped;
    throw new SyncScopeError(
      'SYNCSCOPE_E_PG_UNREACHABLE',
      `The source Postgres ${describeSourceUrl(sourceUrl)} could not be reached: ${(error as Error).message}`,
      undefined,
      { cause: error }
    );
  }
  try {
    return await beginSnapshot(client, statementTimeoutMs, options.snapshot, async () => {
      await client.end().catch(() => {});
    });
  } catch (error) {
    await client.end().catch(() => {});
    throw toProbeError(error, sourceUrl, statementTimeoutMs);
  }
}

/**
 * A kept read-only connection (no open transaction: each statement is its own snapshot), with the same
 * output settings and timeout as a session, for callers that read a few rows often (a live canary's
 * touched rows), where connecting for each read would cost more than the read.
 */
export async function openReadOnlyConnection(
  sourceUrl: string,
  options: { statementTimeoutMs: number; applicationName: string }
): Promise<pg.Client> {
  const client = new pg.Client({
    connectionString: sourceUrl,
    types: rawTextTypes,
    application_name: options.applicationName,
    connectionTimeoutMillis: 15_000
  });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query(
      `SET default_transaction_read_only = on; SET statement_timeout = ${Math.max(1, Math.floor(options.statementTimeoutMs))}; SET DateStyle = 'ISO, MDY'; SET IntervalStyle = 'postgres'; SET bytea_output = 'hex'; SET extra_float_digits = 1`
    );
    return client;
  } catch (error) {
    await client.end().catch(() => {});
    throw toProbeError(error, sourceUrl, options.statementTimeoutMs);
  }
}

/** Starts the read-only snapshot transaction on a connected client; `end` runs after its ROLLBACK. */
async function beginSnapshot(
  client: pg.Client | pg.PoolClient,
  statementTimeoutMs: number,
  snapshot: string | undefined,
  end: () => Promise<void>
): Promise<SourceSession> {
  // One round trip (a simple-protocol batch): a pooled session is waited for by other probes while it runs.
  // Another session's snapshot (exportSnapshot) must be imported before anything else runs; the first
  // query fixes the snapshot, and now() is the transaction's start.
  const results = (await client.query(
    [
      'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY',
      ...(snapshot ? [`SET TRANSACTION SNAPSHOT ${snapshotLiteral(snapshot)}`] : []),
      `SET LOCAL statement_timeout = ${statementTimeoutMs}`,
      "SET LOCAL DateStyle = 'ISO, MDY'",
      "SET LOCAL IntervalStyle = 'postgres'",
      "SET LOCAL bytea_output = 'hex'",
      'SET LOCAL extra_float_digits = 1',
      `SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at`
    ].join('; ')
  )) as unknown as pg.QueryResult<{ at: string }>[];
  const rows = results.at(-1)!.rows;
  return {
    client: client as pg.Client,
    snapshotTakenAt: rows[0]!.at,
    statementTimeoutMs,
    async close() {
      await client.query('ROLLBACK').catch(() => {});
      await end();
    }
  };
}

/**
 * Snapshot sessions on kept connections, one small pool per source: many light probes in one process
 * share a few connections (queued for one rather than each opening its own, which would run a source
 * out of connections at a few hundred probes). Each session is still its own transaction and snapshot.
 */
export class SourceSessionPool {
  private readonly pools = new Map<string, pg.Pool>();
  constructor(private readonly maxPerSource = 8) {}

  async open(sourceUrl: string, options: { statementTimeoutMs?: number } = {}): Promise<SourceSession> {
    const statementTimeoutMs = Math.max(
      1,
      Math.floor(options.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS)
    );
    let pool = this.pools.get(sourceUrl);
    if (!pool) {
      pool = new pg.Pool({
        connectionString: sourceUrl,
        types: rawTextTypes,
        application_name: 'syncscope-probe',
        connectionTimeoutMillis: 15_000,
        max: this.maxPerSource,
        // Kept connections never hold a one-shot process (the CLI) open.
        allowExitOnIdle: true
      });
      pool.on('error', () => {});
      this.pools.set(sourceUrl, pool);
    }
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      const mapped = toProbeError(error, sourceUrl, statementTimeoutMs);
      throw mapped instanceof SyncScopeError
        ? mapped
        : new SyncScopeError(
            'SYNCSCOPE_E_PG_UNREACHABLE',
            `The source Postgres ${describeSourceUrl(sourceUrl)} could not be reached: ${(error as Error).message}`,
            undefined,
            { cause: error }
          );
    }
    try {
      return await beginSnapshot(client, statementTimeoutMs, undefined, async () => client.release());
    } catch (error) {
      // A connection that failed mid-setup is not given to the next probe.
      client.release(true);
      throw toProbeError(error, sourceUrl, statementTimeoutMs);
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.end()));
    this.pools.clear();
  }
}

const SNAPSHOT_ID = /^[0-9A-F]+(-[0-9A-F]+)+$/i;

/** A snapshot id as a SQL literal; SET TRANSACTION SNAPSHOT takes no bind parameters. */
function snapshotLiteral(id: string): string {
  if (!SNAPSHOT_ID.test(id)) throw new Error(`not a Postgres snapshot id: ${JSON.stringify(id)}`);
  return `'${id}'`;
}

/**
 * Exports the session's snapshot so other sessions (partition scans) read exactly what it reads; valid
 * while the session's transaction is open.
 */
export async function exportSnapshot(session: SourceSession): Promise<string> {
  const { rows } = await session.client.query<{ id: string }>('SELECT pg_export_snapshot() AS id');
  return rows[0]!.id;
}

/** Runs `fn` in a fresh snapshot session and always closes it; driver errors become probe errors. */
export async function withSourceSession<T>(
  sourceUrl: string,
  options: { statementTimeoutMs?: number; pool?: SourceSessionPool },
  fn: (session: SourceSession) => Promise<T>
): Promise<T> {
  const session = options.pool
    ? await options.pool.open(sourceUrl, options)
    : await openSourceSession(sourceUrl, options);
  try {
    return await fn(session);
  } catch (error) {
    throw toProbeError(error, sourceUrl, session.statementTimeoutMs);
  } finally {
    await session.close();
  }
}
