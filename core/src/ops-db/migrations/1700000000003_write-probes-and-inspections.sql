-- Up Migration

-- Write probes share the probe history: `kind` tells a read probe's report from a write probe's.
ALTER TABLE syncscope.probe_runs ADD COLUMN kind text NOT NULL DEFAULT 'read' CHECK (kind IN ('read', 'write'));
ALTER TABLE syncscope.probe_jobs ADD COLUMN kind text NOT NULL DEFAULT 'read' CHECK (kind IN ('read', 'write'));

-- Client databases operators uploaded to the inspector: the file lives on the console's disk until
-- expires_at (the retention the operator chose), then the file and this row are deleted.
CREATE TABLE syncscope.inspected_databases (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  file_path text NOT NULL,
  original_name text NOT NULL,
  size_bytes bigint NOT NULL,
  uploaded_by text NOT NULL,
  target text,
  user_id text,
  uploaded_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL
);
CREATE INDEX inspected_databases_expires ON syncscope.inspected_databases (expires_at);

-- Down Migration
DROP TABLE syncscope.inspected_databases;
ALTER TABLE syncscope.probe_jobs DROP COLUMN kind;
ALTER TABLE syncscope.probe_runs DROP COLUMN kind;
