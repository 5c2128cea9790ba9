import type pg from 'pg';

/**
 * Bucket storage lives in schemas of its own, so it can share a database with anything else: `ps_dev` holds
 * what all sync-rules versions share (the versions, the global op id sequence, write checkpoints), and each
 * version's buckets live in `ps_dev_v<N>`, dropped whole when the version is retired.
 */
export const STORAGE_SCHEMA = 'ps_dev';

export const versionSchema = (version: number) => `${STORAGE_SCHEMA}_v${version}`;

// Bump when the layout changes: an older layout is dropped and rebuilt by a fresh initial replication.
export const STORAGE_LAYOUT_VERSION = 3;

const S = STORAGE_SCHEMA;
const GLOBAL_DDL = `
CREATE SCHEMA IF NOT EXISTS ${S};
CREATE TABLE IF NOT EXISTS ${S}.meta (key text PRIMARY KEY, value jsonb NOT NULL);
-- One global op id sequence across versions (the service's): allocated in blocks outside the writing
-- transaction, so one version's long snapshot chunk never holds up another version's replication.
CREATE TABLE IF NOT EXISTS ${S}.op_sequence (id int PRIMARY KEY CHECK (id = 1), last_op_id bigint NOT NULL);
INSERT INTO ${S}.op_sequence VALUES (1, 0) ON CONFLICT DO NOTHING;
-- Deployed sync-rules versions: PROCESSING (snapshot, not served), ACTIVE (served), STOP, TERMINATED.
CREATE TABLE IF NOT EXISTS ${S}.sync_rules (
  version int PRIMARY KEY,
  content text NOT NULL,
  slot_name text NOT NULL,
  state text NOT NULL,
  snapshot_done boolean NOT NULL DEFAULT false,
  -- LSN up to which every source change is in this version's storage.
  lsn text NOT NULL DEFAULT '0/0',
  last_op_id bigint NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS ${S}.write_checkpoints (
  id bigserial PRIMARY KEY,
  user_id text NOT NULL,
  client_id text,
  lsn text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS write_checkpoints_user ON ${S}.write_checkpoints (user_id, id);
`;

const versionDdl = (schema: string) => `
CREATE SCHEMA IF NOT EXISTS ${schema};
-- The operation log of this version (op ids from the global sequence).
CREATE TABLE IF NOT EXISTS ${schema}.ops (
  op_id bigint PRIMARY KEY,
  bucket text NOT NULL,
  op text NOT NULL,
  object_type text,
  object_id text,
  subkey text,
  checksum bigint NOT NULL,
  -- The op as it appears in a data line, serialized once at write time so paging never re-encodes rows.
  op_json text NOT NULL
);
CREATE INDEX IF NOT EXISTS ops_bucket_op_id ON ${schema}.ops (bucket, op_id);
-- Running totals per bucket, kept in the same transaction as the ops they sum.
CREATE TABLE IF NOT EXISTS ${schema}.buckets (
  bucket text PRIMARY KEY,
  checksum bigint NOT NULL,
  op_count bigint NOT NULL,
  last_op bigint NOT NULL
);
-- Where each source row currently lands, so an update or delete can REMOVE it from buckets it left.
CREATE TABLE IF NOT EXISTS ${schema}.current_rows (
  source_table text NOT NULL,
  replica_id text NOT NULL,
  placements jsonb NOT NULL,
  lookups jsonb NOT NULL,
  PRIMARY KEY (source_table, replica_id)
);
-- Parameter-query results per lookup key (e.g. ["by_workspace","1","u-alice"] -> [{workspace_id: "ws-1"}]).
CREATE TABLE IF NOT EXISTS ${schema}.parameter_index (
  lookup text NOT NULL,
  source_table text NOT NULL,
  replica_id text NOT NULL,
  bucket_parameters text NOT NULL,
  PRIMARY KEY (lookup, source_table, replica_id)
);
`;

/**
 * Creates the shared schema. An older layout is dropped first; its slot names are returned so the caller
 * can drop those slots too (a slot left behind retains WAL forever).
 */
export async function ensureStorageSchema(pool: pg.Pool): Promise<{ obsoleteSlots: string[] }> {
  const obsoleteSlots: string[] = [];
  const { rows: found } = await pool.query(`SELECT to_regclass('${S}.meta') IS NOT NULL AS present`);
  const { rows } = found[0]?.present
    ? await pool.query<{ layout: number | null; slot: string | null }>(
        `SELECT (SELECT (value->>'layoutVersion')::int FROM ${S}.meta WHERE key IN ('layout', 'state') ORDER BY key LIMIT 1) AS layout,
                (SELECT value->>'slotName' FROM ${S}.meta WHERE key = 'state') AS slot`
      )
    : { rows: [] };
  const existing = rows[0];
  if (existing && existing.layout !== STORAGE_LAYOUT_VERSION) {
    if (existing.slot) obsoleteSlots.push(existing.slot);
    await dropAllStorage(pool);
  }
  await pool.query(GLOBAL_DDL);
  await pool.query(
    `INSERT INTO ${S}.meta (key, value) VALUES ('layout', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
    [{ layoutVersion: STORAGE_LAYOUT_VERSION }]
  );
  return { obsoleteSlots };
}

async function dropAllStorage(pool: pg.Pool): Promise<void> {
  const { rows } = await pool.query<{ nspname: string }>(
    `SELECT nspname FROM pg_namespace WHERE nspname = $1 OR nspname LIKE $2`,
    [S, `${S}\\_v%`]
  );
  for (const r of rows) await pool.query(`DROP SCHEMA IF EXISTS "${r.nspname}" CASCADE`);
}

export async function createVersionSchema(client: pg.Pool | pg.PoolClient, version: number): Promise<void> {
  await client.query(versionDdl(versionSchema(version)));
}

/** Drops a version's buckets; used before its snapshot starts over and when the version is retired. */
export async function dropVersionSchema(client: pg.Pool | pg.PoolClient, version: number): Promise<void> {
  await client.query(`DROP SCHEMA IF EXISTS ${versionSchema(version)} CASCADE`);
}
