import type pg from 'pg';

/** Bucket storage lives in its own schema, so it can share a database with anything else. */
export const STORAGE_SCHEMA = 'ps_dev';

// Bump when the layout changes: an older layout is dropped and rebuilt by a fresh initial replication.
export const STORAGE_LAYOUT_VERSION = 2;

const DDL = `
CREATE SCHEMA IF NOT EXISTS ${STORAGE_SCHEMA};
CREATE TABLE IF NOT EXISTS ${STORAGE_SCHEMA}.meta (key text PRIMARY KEY, value jsonb NOT NULL);
-- The operation log: one global, increasing op id across all buckets.
CREATE TABLE IF NOT EXISTS ${STORAGE_SCHEMA}.ops (
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
CREATE INDEX IF NOT EXISTS ops_bucket_op_id ON ${STORAGE_SCHEMA}.ops (bucket, op_id);
-- Running totals per bucket, kept in the same transaction as the ops they sum.
CREATE TABLE IF NOT EXISTS ${STORAGE_SCHEMA}.buckets (
  bucket text PRIMARY KEY,
  checksum bigint NOT NULL,
  op_count bigint NOT NULL,
  last_op bigint NOT NULL
);
-- Where each source row currently lands, so an update or delete can REMOVE it from buckets it left.
CREATE TABLE IF NOT EXISTS ${STORAGE_SCHEMA}.current_rows (
  source_table text NOT NULL,
  replica_id text NOT NULL,
  placements jsonb NOT NULL,
  lookups jsonb NOT NULL,
  PRIMARY KEY (source_table, replica_id)
);
-- Parameter-query results per lookup key (e.g. ["by_workspace","1","u-alice"] -> [{workspace_id: "ws-1"}]).
CREATE TABLE IF NOT EXISTS ${STORAGE_SCHEMA}.parameter_index (
  lookup text NOT NULL,
  source_table text NOT NULL,
  replica_id text NOT NULL,
  bucket_parameters text NOT NULL,
  PRIMARY KEY (lookup, source_table, replica_id)
);
CREATE TABLE IF NOT EXISTS ${STORAGE_SCHEMA}.write_checkpoints (
  id bigserial PRIMARY KEY,
  user_id text NOT NULL,
  client_id text,
  lsn text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS write_checkpoints_user ON ${STORAGE_SCHEMA}.write_checkpoints (user_id, id);
`;

export async function ensureStorageSchema(client: pg.Pool | pg.PoolClient): Promise<void> {
  await client.query(DDL);
}

/** Drops every stored bucket, used before a fresh initial replication. */
export async function resetStorage(client: pg.Pool | pg.PoolClient): Promise<void> {
  await client.query(`DROP SCHEMA IF EXISTS ${STORAGE_SCHEMA} CASCADE`);
  await ensureStorageSchema(client);
}
