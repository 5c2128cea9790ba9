-- Up Migration

-- Each bucket-budget reading of a target (core/src/rules-insight/budgets/), stored by the agent that
-- took it: the report as the console shows it (distribution, users over each threshold, the listed
-- users with their top rule, growth and forecast) and the largest users' counts (at most 50), from
-- which the next readings compute growth and forecasts. Bounded: the agent prunes readings older than
-- 30 days of the target when it stores one.
CREATE TABLE syncscope.bucket_budget_runs (
  id bigserial PRIMARY KEY,
  target text NOT NULL CHECK (length(target) > 0),
  computed_at timestamptz NOT NULL,
  agent text NOT NULL,
  bucket_limit integer NOT NULL CHECK (bucket_limit > 0),
  users bigint NOT NULL,
  max_buckets integer NOT NULL,
  -- [{threshold, users}], ascending; the last threshold is the limit.
  over_thresholds jsonb NOT NULL,
  -- [{user, buckets}], largest first.
  top_users jsonb NOT NULL,
  report jsonb NOT NULL
);
CREATE INDEX bucket_budget_runs_target_time ON syncscope.bucket_budget_runs (target, computed_at DESC);

-- Down Migration
DROP TABLE syncscope.bucket_budget_runs;
