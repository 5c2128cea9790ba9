-- Up Migration

-- Scheduled probes are jobs like the console's (claimed under leases by any agent). A schedule's job
-- carries a de-duplication key, target + schedule + period + user, unique for ever: whichever agents
-- expand a period, and however often, a user gets at most one job (so at most one final run) in it.
-- Console jobs have none. priority orders the claim: 0 a person waiting in the console, 1 a scheduled
-- user whose last verdict was not consistent, 2 every other scheduled user.
-- (The job's mode, light|full, is migration 11's.)
ALTER TABLE syncscope.probe_jobs ADD COLUMN dedup_key text;
ALTER TABLE syncscope.probe_jobs ADD COLUMN priority smallint NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX probe_jobs_dedup ON syncscope.probe_jobs (dedup_key);
DROP INDEX syncscope.probe_jobs_claimable;
CREATE INDEX probe_jobs_claimable ON syncscope.probe_jobs (priority, next_attempt_at)
  WHERE status IN ('queued', 'retry_wait');
-- Per-target concurrency limits count the running jobs of a target at every claim.
CREATE INDEX probe_jobs_running_target ON syncscope.probe_jobs (target) WHERE status = 'running';

-- One row per (target, schedule, period): where its expansion into jobs stands. The agent that holds the
-- row's lock (FOR UPDATE SKIP LOCKED) expands one page of users and moves the keyset cursor in the same
-- transaction as the jobs it inserts, so a period is expanded once, page by page, whichever agent takes
-- each page; complete when its last page is in.
CREATE TABLE syncscope.schedule_periods (
  target text NOT NULL CHECK (length(target) > 0),
  schedule text NOT NULL CHECK (schedule IN ('canaries', 'sample', 'sweep')),
  period_start timestamptz NOT NULL,
  -- The last user id listed (keyset pagination over the target's users_query, in text order).
  cursor text,
  -- The users whose last verdict was not consistent have been queued first.
  unsettled_queued boolean NOT NULL DEFAULT false,
  listed bigint NOT NULL DEFAULT 0,
  complete boolean NOT NULL DEFAULT false,
  expanded_by text,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (target, schedule, period_start)
);

-- A user's latest run on a target (which users a sweep probes first).
CREATE INDEX probe_runs_target_user ON syncscope.probe_runs (target, user_id, started_at DESC);

-- Down Migration
DROP INDEX syncscope.probe_runs_target_user;
DROP TABLE syncscope.schedule_periods;
DROP INDEX syncscope.probe_jobs_running_target;
DROP INDEX syncscope.probe_jobs_claimable;
CREATE INDEX probe_jobs_claimable ON syncscope.probe_jobs (next_attempt_at) WHERE status IN ('queued', 'retry_wait');
DROP INDEX syncscope.probe_jobs_dedup;
ALTER TABLE syncscope.probe_jobs DROP COLUMN priority;
ALTER TABLE syncscope.probe_jobs DROP COLUMN dedup_key;
