-- Up Migration

-- Runs rolled up per target, UTC hour and kind: what the fleet view charts, kept after the raw runs are
-- pruned. Maintained in the transaction that stores a run (syncscope.roll_up_probe_runs below), so a
-- run and its counts commit together whichever agent stores it; the upserts add, never overwrite.
CREATE TABLE syncscope.probe_run_hourly (
  target text NOT NULL,
  hour timestamptz NOT NULL CHECK (hour = date_trunc('hour', hour, 'UTC')),
  kind text NOT NULL CHECK (kind IN ('read', 'write')),
  consistent integer NOT NULL DEFAULT 0,
  mismatch integer NOT NULL DEFAULT 0,
  inconclusive integer NOT NULL DEFAULT 0,
  error integer NOT NULL DEFAULT 0,
  -- Expected rows the read probes compared.
  rows_checked bigint NOT NULL DEFAULT 0,
  -- Row differences that persisted through the settle window, listed or only counted.
  row_differences bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (target, hour, kind)
);
CREATE INDEX probe_run_hourly_hour ON syncscope.probe_run_hourly (hour);

-- The tables and rules (bucket definitions or sync streams) behind the differences, per target and hour.
-- From each run's listed differences (at most the probe's cap, 1,000): a table counts its persisted
-- row differences, a rule the row differences in its buckets and its missing or extra buckets.
CREATE TABLE syncscope.probe_run_hourly_differences (
  target text NOT NULL,
  hour timestamptz NOT NULL,
  dimension text NOT NULL CHECK (dimension IN ('table', 'rule')),
  name text NOT NULL,
  differences bigint NOT NULL,
  -- Runs that had differences in it.
  runs integer NOT NULL,
  PRIMARY KEY (target, hour, dimension, name)
);
CREATE INDEX probe_run_hourly_differences_hour ON syncscope.probe_run_hourly_differences (hour);

-- The rule a bucket id belongs to: `1#by_workspace["ws-1"]` → by_workspace (version prefix and a
-- stream's `|N` variant dropped).
CREATE FUNCTION syncscope.bucket_rule(bucket text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT substring(bucket FROM '^(?:[0-9]+#)?([^\[|]*)')
$$;

-- Persisted row differences of a report: its counts by kind (every one, listed or not), or for reports
-- older than the counts, the listed ones.
CREATE FUNCTION syncscope.probe_report_row_differences(report jsonb) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN report->'rows' ? 'differenceCounts' THEN
      coalesce((report->'rows'->'differenceCounts'->>'missing')::bigint, 0)
      + coalesce((report->'rows'->'differenceCounts'->>'extra')::bigint, 0)
      + coalesce((report->'rows'->'differenceCounts'->>'different')::bigint, 0)
    ELSE (SELECT count(*) FROM jsonb_array_elements(report->'rows'->'differences') d
          WHERE d->>'settled' = 'persisted') END
$$;

-- A report's differences by table and by rule (see probe_run_hourly_differences).
CREATE FUNCTION syncscope.probe_report_differences(report jsonb)
RETURNS TABLE (dimension text, name text, differences bigint) LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  WITH rows AS (
    SELECT d, n FROM jsonb_array_elements(report->'rows'->'differences') WITH ORDINALITY AS x(d, n)
    WHERE d->>'settled' = 'persisted'
  ), rule_hits AS (
    SELECT DISTINCT n, syncscope.bucket_rule(b) AS rule FROM rows, jsonb_array_elements_text(d->'buckets') b
    UNION ALL
    SELECT -n, syncscope.bucket_rule(bd->>'bucket')
    FROM jsonb_array_elements(report->'buckets'->'differences') WITH ORDINALITY AS y(bd, n)
  )
  SELECT 'table', d->>'table', count(*) FROM rows GROUP BY d->>'table'
  UNION ALL
  SELECT 'rule', rule, count(*) FROM rule_hits GROUP BY rule
$$;

-- Adds runs to the rollups. Called by the transaction that stores them (insertProbeRun), and once below
-- for the runs stored before this migration. Keys are upserted in order, so two transactions adding to
-- the same hours lock its rows in the same order. The ids are joined, not matched with `= ANY`: a
-- parameter array is searched linearly per row, which over a million runs never ends.
CREATE FUNCTION syncscope.roll_up_probe_runs(run_ids uuid[]) RETURNS void LANGUAGE sql AS $$
  INSERT INTO syncscope.probe_run_hourly AS h
    (target, hour, kind, consistent, mismatch, inconclusive, error, rows_checked, row_differences)
  SELECT target, date_trunc('hour', started_at, 'UTC'), kind,
    count(*) FILTER (WHERE verdict = 'consistent'), count(*) FILTER (WHERE verdict = 'mismatch'),
    count(*) FILTER (WHERE verdict = 'inconclusive'), count(*) FILTER (WHERE verdict = 'error'),
    coalesce(sum((report->'rows'->>'expected')::bigint), 0),
    coalesce(sum(syncscope.probe_report_row_differences(report)), 0)
  FROM unnest(run_ids) AS u(id) JOIN syncscope.probe_runs USING (id)
  GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
  ON CONFLICT (target, hour, kind) DO UPDATE SET
    consistent = h.consistent + excluded.consistent, mismatch = h.mismatch + excluded.mismatch,
    inconclusive = h.inconclusive + excluded.inconclusive, error = h.error + excluded.error,
    rows_checked = h.rows_checked + excluded.rows_checked,
    row_differences = h.row_differences + excluded.row_differences;
  INSERT INTO syncscope.probe_run_hourly_differences AS d (target, hour, dimension, name, differences, runs)
  SELECT r.target, date_trunc('hour', r.started_at, 'UTC'), c.dimension, c.name, sum(c.differences), count(*)
  FROM unnest(run_ids) AS u(id) JOIN syncscope.probe_runs r USING (id),
    syncscope.probe_report_differences(r.report) c
  WHERE c.name IS NOT NULL
  GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
  ON CONFLICT (target, hour, dimension, name) DO UPDATE SET
    differences = d.differences + excluded.differences, runs = d.runs + excluded.runs;
$$;

-- A consistent read probe's report as stored: what its result page shows, without the bucket lists
-- (counts and counts per rule instead), the service and replication evidence (a consistent run needs
-- none), the token's expiry and audience, and what the run's columns already hold. Marked `compact`; the
-- console expands it (core/src/fleet-results/compact-report.ts).
CREATE FUNCTION syncscope.compact_probe_report(report jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT (report - ARRAY['target', 'userId', 'verdict', 'summary', 'startedAt', 'durationMs', 'subscriptions',
                         'reason', 'error', 'buckets', 'service', 'replication', 'token', 'sync'])
    || jsonb_build_object('compact', true,
         'token', jsonb_build_object('kid', report->'token'->'kid', 'jti', report->'token'->'jti'),
         'sync', jsonb_build_object('kind', report->'sync'->'kind'),
         'buckets', jsonb_build_object(
         'expectedCount', jsonb_array_length(coalesce(report->'buckets'->'expected', '[]')),
         'actualCount', jsonb_array_length(coalesce(report->'buckets'->'actual', '[]')),
         'byRule', (SELECT coalesce(jsonb_object_agg(rule, n), '{}') FROM (
            SELECT syncscope.bucket_rule(b) AS rule, count(*) AS n
            FROM jsonb_array_elements_text(report->'buckets'->'expected') b GROUP BY 1) x),
         'overLimit', coalesce(report->'buckets'->'overLimit', 'false')))
$$;

-- Consistent read runs stored whole before this migration, for the maintenance pass to compact in batches.
CREATE INDEX probe_runs_uncompacted ON syncscope.probe_runs (started_at)
  WHERE verdict = 'consistent' AND kind = 'read' AND NOT (report ? 'compact');
-- The fleet view's worst users: the few runs that are not consistent, per target and time.
CREATE INDEX probe_runs_problems ON syncscope.probe_runs (target, started_at) WHERE verdict <> 'consistent';
-- Deleting a run checks no job names it; without this index that is a scan of the jobs per run.
CREATE INDEX probe_jobs_run ON syncscope.probe_jobs (run_id);

SELECT syncscope.roll_up_probe_runs(coalesce(array_agg(id), '{}')) FROM syncscope.probe_runs;

-- Down Migration
DROP INDEX syncscope.probe_jobs_run;
DROP INDEX syncscope.probe_runs_problems;
DROP INDEX syncscope.probe_runs_uncompacted;
DROP FUNCTION syncscope.compact_probe_report(jsonb);
DROP FUNCTION syncscope.roll_up_probe_runs(uuid[]);
DROP FUNCTION syncscope.probe_report_differences(jsonb);
DROP FUNCTION syncscope.probe_report_row_differences(jsonb);
DROP FUNCTION syncscope.bucket_rule(text);
DROP TABLE syncscope.probe_run_hourly_differences;
DROP TABLE syncscope.probe_run_hourly;
