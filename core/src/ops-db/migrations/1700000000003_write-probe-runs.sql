-- Up Migration

-- Write probes share the probe history: `kind` tells a read probe's report from a write probe's.
ALTER TABLE syncscope.probe_runs ADD COLUMN kind text NOT NULL DEFAULT 'read' CHECK (kind IN ('read', 'write'));
ALTER TABLE syncscope.probe_jobs ADD COLUMN kind text NOT NULL DEFAULT 'read' CHECK (kind IN ('read', 'write'));

-- Down Migration
ALTER TABLE syncscope.probe_jobs DROP COLUMN kind;
ALTER TABLE syncscope.probe_runs DROP COLUMN kind;
