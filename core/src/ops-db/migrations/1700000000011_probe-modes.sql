-- Up Migration

-- How a probe syncs as the user: 'full' (the real client into a throw-away database) or 'light' (the sync
-- stream read at the protocol level; a difference is confirmed by a full probe before it is a mismatch).
ALTER TABLE syncscope.probe_jobs
  ADD COLUMN mode text NOT NULL DEFAULT 'full' CHECK (mode IN ('light', 'full'));

ALTER TABLE syncscope.probe_runs
  ADD COLUMN mode text NOT NULL DEFAULT 'full' CHECK (mode IN ('light', 'full')),
  -- A light run whose difference a full run was asked to confirm names that run, and the full run names
  -- the light one. Both are inserted in one transaction (the agent cannot UPDATE runs), the confirming
  -- run first: the constraints are checked at commit.
  ADD COLUMN confirmed_by uuid REFERENCES syncscope.probe_runs (id) DEFERRABLE INITIALLY DEFERRED,
  ADD COLUMN confirms uuid REFERENCES syncscope.probe_runs (id) DEFERRABLE INITIALLY DEFERRED,
  ADD CONSTRAINT probe_runs_confirmation_by_full CHECK (confirms IS NULL OR mode = 'full'),
  ADD CONSTRAINT probe_runs_confirmation_of_light CHECK (confirmed_by IS NULL OR mode = 'light');

CREATE INDEX probe_runs_confirms ON syncscope.probe_runs (confirms) WHERE confirms IS NOT NULL;

-- Down Migration
DROP INDEX syncscope.probe_runs_confirms;
ALTER TABLE syncscope.probe_runs
  DROP CONSTRAINT probe_runs_confirmation_of_light,
  DROP CONSTRAINT probe_runs_confirmation_by_full,
  DROP COLUMN confirms,
  DROP COLUMN confirmed_by,
  DROP COLUMN mode;
ALTER TABLE syncscope.probe_jobs DROP COLUMN mode;
