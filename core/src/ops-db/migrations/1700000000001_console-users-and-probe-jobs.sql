-- Up Migration

-- People who sign in to the console. Passwords are scrypt hashes (memory-hard); never stored in clear.
CREATE TABLE syncscope.console_users (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email text NOT NULL UNIQUE CHECK (email = lower(email) AND email LIKE '%_@_%'),
  role text NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
  password_hash text NOT NULL,
  disabled boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Sessions: the cookie holds a random token; only its SHA-256 is kept here.
CREATE TABLE syncscope.console_sessions (
  token_sha256 bytea PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES syncscope.console_users (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL
);
CREATE INDEX console_sessions_user ON syncscope.console_sessions (user_id);

-- Failed sign-ins, for rate limiting per email and per client address.
CREATE TABLE syncscope.login_failures (
  id bigserial PRIMARY KEY,
  email text NOT NULL,
  client_address text NOT NULL,
  at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_email_at ON syncscope.login_failures (email, at DESC);
CREATE INDEX login_failures_address_at ON syncscope.login_failures (client_address, at DESC);

-- Probe requests: the console enqueues, agents claim with FOR UPDATE SKIP LOCKED and keep a heartbeat;
-- a job whose agent stops beating is retried or failed with the reason.
CREATE TABLE syncscope.probe_jobs (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  target text NOT NULL,
  user_id text NOT NULL,
  claims jsonb NOT NULL DEFAULT '{}',
  reason text NOT NULL CHECK (length(trim(reason)) > 0),
  requested_by text NOT NULL,
  status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'failed')),
  attempts integer NOT NULL DEFAULT 0,
  max_attempts integer NOT NULL DEFAULT 2,
  agent text,
  heartbeat_at timestamptz,
  progress jsonb NOT NULL DEFAULT '{}',
  run_id uuid REFERENCES syncscope.probe_runs (id),
  error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz,
  finished_at timestamptz
);
CREATE INDEX probe_jobs_queued ON syncscope.probe_jobs (created_at) WHERE status = 'queued';
CREATE INDEX probe_jobs_running ON syncscope.probe_jobs (heartbeat_at) WHERE status = 'running';

-- A run knows the job (and so the person and reason) that asked for it.
ALTER TABLE syncscope.probe_runs ADD COLUMN job_id uuid;
ALTER TABLE syncscope.probe_runs ADD COLUMN requested_by text;
CREATE INDEX probe_runs_started ON syncscope.probe_runs (started_at DESC);
CREATE INDEX probe_runs_verdict_started ON syncscope.probe_runs (verdict, started_at DESC);

-- Down Migration
DROP INDEX syncscope.probe_runs_verdict_started;
DROP INDEX syncscope.probe_runs_started;
ALTER TABLE syncscope.probe_runs DROP COLUMN requested_by;
ALTER TABLE syncscope.probe_runs DROP COLUMN job_id;
DROP TABLE syncscope.probe_jobs;
DROP TABLE syncscope.login_failures;
DROP TABLE syncscope.console_sessions;
DROP TABLE syncscope.console_users;
