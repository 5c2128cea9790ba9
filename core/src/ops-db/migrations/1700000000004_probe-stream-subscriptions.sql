-- Up Migration

-- The sync-stream subscriptions a probe's client makes ({stream, parameters, priority} each, in request
-- order): asked for with the job, and kept with the run so the history can show them without reading
-- whole reports.
ALTER TABLE syncscope.probe_jobs ADD COLUMN subscriptions jsonb NOT NULL DEFAULT '[]'
  CHECK (jsonb_typeof(subscriptions) = 'array');
ALTER TABLE syncscope.probe_runs ADD COLUMN subscriptions jsonb NOT NULL DEFAULT '[]'
  CHECK (jsonb_typeof(subscriptions) = 'array');
-- Runs stored before this migration (CLI and agent probes with --subscribe) already carry them in the report.
UPDATE syncscope.probe_runs SET subscriptions = report->'subscriptions'
  WHERE jsonb_typeof(report->'subscriptions') = 'array';

-- Down Migration
ALTER TABLE syncscope.probe_runs DROP COLUMN subscriptions;
ALTER TABLE syncscope.probe_jobs DROP COLUMN subscriptions;
