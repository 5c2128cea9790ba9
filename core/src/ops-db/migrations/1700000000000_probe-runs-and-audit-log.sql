-- Up Migration
CREATE SCHEMA IF NOT EXISTS syncscope;

-- Every probe's result, permanent and linkable (the report is the versioned JSON of core/src/probe).
CREATE TABLE syncscope.probe_runs (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  target text NOT NULL,
  user_id text NOT NULL,
  verdict text NOT NULL CHECK (verdict IN ('consistent', 'mismatch', 'error')),
  summary text NOT NULL,
  started_at timestamptz NOT NULL,
  duration_ms integer NOT NULL,
  report jsonb NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX probe_runs_target_started ON syncscope.probe_runs (target, started_at DESC);
CREATE INDEX probe_runs_user ON syncscope.probe_runs (user_id, started_at DESC);

-- Who impersonated whom, when, why: every minted probe token (with its jti) and every role change.
CREATE TABLE syncscope.audit_log (
  id bigserial PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT now(),
  actor text NOT NULL,
  action text NOT NULL,
  target text,
  subject_user text,
  reason text,
  details jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at ON syncscope.audit_log (at DESC);

-- The audit log is append-only, enforced by the database, not by the application.
CREATE FUNCTION syncscope.audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'syncscope.audit_log is append-only: % is not allowed', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_log_no_update_or_delete BEFORE UPDATE OR DELETE ON syncscope.audit_log
  FOR EACH ROW EXECUTE FUNCTION syncscope.audit_log_is_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON syncscope.audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION syncscope.audit_log_is_append_only();

-- Down Migration
DROP TABLE syncscope.audit_log;
DROP FUNCTION syncscope.audit_log_is_append_only();
DROP TABLE syncscope.probe_runs;
