-- Up Migration

-- Keys app backends use to report upload results, one target each. Only the SHA-256 is kept.
CREATE TABLE syncscope.ingest_keys (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  target text NOT NULL,
  key_sha256 bytea NOT NULL UNIQUE,
  label text NOT NULL,
  created_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz
);

-- Upload errors grouped by target, table, normalised detail and retryable; counts kept at ingest so the
-- console reads aggregates, never the raw rows.
CREATE TABLE syncscope.upload_error_groups (
  id bigserial PRIMARY KEY,
  target text NOT NULL,
  table_name text NOT NULL,
  detail_pattern text NOT NULL,
  retryable boolean NOT NULL,
  example_detail text NOT NULL,
  example_code text,
  occurrences bigint NOT NULL DEFAULT 0,
  first_seen timestamptz NOT NULL,
  last_seen timestamptz NOT NULL,
  UNIQUE (target, table_name, detail_pattern, retryable)
);
CREATE INDEX upload_error_groups_last_seen ON syncscope.upload_error_groups (last_seen DESC);

CREATE TABLE syncscope.upload_error_hourly (
  group_id bigint NOT NULL REFERENCES syncscope.upload_error_groups (id) ON DELETE CASCADE,
  hour timestamptz NOT NULL,
  occurrences bigint NOT NULL,
  PRIMARY KEY (group_id, hour)
);

-- Every failed operation reported; (target, report_id, op_index) makes a resent report harmless.
CREATE TABLE syncscope.upload_errors (
  id bigserial PRIMARY KEY,
  group_id bigint NOT NULL REFERENCES syncscope.upload_error_groups (id) ON DELETE CASCADE,
  target text NOT NULL,
  report_id text NOT NULL,
  op_index integer NOT NULL,
  occurred_at timestamptz NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  user_id text NOT NULL,
  client_id text,
  table_name text NOT NULL,
  row_id text,
  op text,
  code text,
  detail text NOT NULL,
  retryable boolean NOT NULL,
  data jsonb,
  UNIQUE (target, report_id, op_index)
);
CREATE INDEX upload_errors_group_at ON syncscope.upload_errors (group_id, occurred_at DESC);
CREATE INDEX upload_errors_user_at ON syncscope.upload_errors (target, user_id, occurred_at DESC);

-- The same operation failing again and again from one client: a poison operation at the head of its
-- upload queue. One row per (target, client, table, row, op), updated at ingest.
CREATE TABLE syncscope.upload_error_streaks (
  target text NOT NULL,
  client_id text NOT NULL,
  table_name text NOT NULL,
  row_id text NOT NULL,
  op text NOT NULL,
  user_id text NOT NULL,
  failures bigint NOT NULL,
  first_failed_at timestamptz NOT NULL,
  last_failed_at timestamptz NOT NULL,
  last_detail text NOT NULL,
  last_retryable boolean NOT NULL,
  last_group_id bigint NOT NULL REFERENCES syncscope.upload_error_groups (id) ON DELETE CASCADE,
  PRIMARY KEY (target, client_id, table_name, row_id, op)
);
CREATE INDEX upload_error_streaks_last ON syncscope.upload_error_streaks (last_failed_at DESC) WHERE failures >= 3;

-- Down Migration
DROP TABLE syncscope.upload_error_streaks;
DROP TABLE syncscope.upload_errors;
DROP TABLE syncscope.upload_error_hourly;
DROP TABLE syncscope.upload_error_groups;
DROP TABLE syncscope.ingest_keys;
