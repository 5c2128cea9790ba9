-- Up Migration

-- Leases: a claim makes an agent the job's owner under a new lease_epoch; every later change by an agent
-- (heartbeat, progress, result) names the owner and the epoch, so an agent whose job was reclaimed can
-- change nothing. lease_expires_at moves with every heartbeat; deadline_at is fixed per attempt. Either
-- passing lets any agent reclaim the job (see core/src/probe-jobs/job-state-machine.ts).
-- retry_wait: an attempt ended inconclusive (or overran its deadline) and the job is claimable again
-- from next_attempt_at.
ALTER TABLE syncscope.probe_jobs DROP CONSTRAINT probe_jobs_status_check;
ALTER TABLE syncscope.probe_jobs ADD CONSTRAINT probe_jobs_status_check
  CHECK (status IN ('queued', 'running', 'retry_wait', 'done', 'failed'));
ALTER TABLE syncscope.probe_jobs ADD COLUMN lease_epoch integer NOT NULL DEFAULT 0;
ALTER TABLE syncscope.probe_jobs ADD COLUMN lease_expires_at timestamptz;
ALTER TABLE syncscope.probe_jobs ADD COLUMN deadline_at timestamptz;
ALTER TABLE syncscope.probe_jobs ADD COLUMN next_attempt_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE syncscope.probe_jobs ALTER COLUMN max_attempts SET DEFAULT 3;
UPDATE syncscope.probe_jobs SET next_attempt_at = created_at;
DROP INDEX syncscope.probe_jobs_queued;
DROP INDEX syncscope.probe_jobs_running;
CREATE INDEX probe_jobs_claimable ON syncscope.probe_jobs (next_attempt_at) WHERE status IN ('queued', 'retry_wait');
CREATE INDEX probe_jobs_leased ON syncscope.probe_jobs (lease_expires_at) WHERE status = 'running';

-- Every attempt's run is kept and linked to its job; a job has at most one run per attempt and at most
-- one final run (the one the job's run_id names). The database refuses a second, whoever tries.
ALTER TABLE syncscope.probe_runs ADD COLUMN attempt integer;
ALTER TABLE syncscope.probe_runs ADD COLUMN final boolean;
UPDATE syncscope.probe_runs r SET final = true FROM syncscope.probe_jobs j WHERE j.run_id = r.id;
CREATE UNIQUE INDEX probe_runs_job_attempt ON syncscope.probe_runs (job_id, attempt);
CREATE UNIQUE INDEX probe_runs_job_final ON syncscope.probe_runs (job_id) WHERE final;

-- A job stores its inconclusive attempts. Migration 7 (verdicts) widens this check too; doing it here as
-- well (same name, same set) keeps this migration correct on its own and is a no-op after 7.
ALTER TABLE syncscope.probe_runs DROP CONSTRAINT IF EXISTS probe_runs_verdict_check;
ALTER TABLE syncscope.probe_runs ADD CONSTRAINT probe_runs_verdict_check
  CHECK (verdict IN ('consistent', 'mismatch', 'inconclusive', 'error'));

-- Down Migration
-- (the four verdicts stay: migration 7 owns that check)
DROP INDEX syncscope.probe_runs_job_final;
DROP INDEX syncscope.probe_runs_job_attempt;
ALTER TABLE syncscope.probe_runs DROP COLUMN final;
ALTER TABLE syncscope.probe_runs DROP COLUMN attempt;
DROP INDEX syncscope.probe_jobs_leased;
DROP INDEX syncscope.probe_jobs_claimable;
UPDATE syncscope.probe_jobs SET status = 'queued' WHERE status = 'retry_wait';
ALTER TABLE syncscope.probe_jobs ALTER COLUMN max_attempts SET DEFAULT 2;
ALTER TABLE syncscope.probe_jobs DROP COLUMN next_attempt_at;
ALTER TABLE syncscope.probe_jobs DROP COLUMN deadline_at;
ALTER TABLE syncscope.probe_jobs DROP COLUMN lease_expires_at;
ALTER TABLE syncscope.probe_jobs DROP COLUMN lease_epoch;
ALTER TABLE syncscope.probe_jobs DROP CONSTRAINT probe_jobs_status_check;
ALTER TABLE syncscope.probe_jobs ADD CONSTRAINT probe_jobs_status_check
  CHECK (status IN ('queued', 'running', 'done', 'failed'));
CREATE INDEX probe_jobs_queued ON syncscope.probe_jobs (created_at) WHERE status = 'queued';
CREATE INDEX probe_jobs_running ON syncscope.probe_jobs (heartbeat_at) WHERE status = 'running';
