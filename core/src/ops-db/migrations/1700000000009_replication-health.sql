-- Up Migration

-- The latest replication health of each target (slots, WAL, the admin API's view, findings), written by
-- the agents that watch it and read by the console's overview: the console needs no access to the source
-- or the admin API for it. One row per target; a reading older than the stored one is not stored.
CREATE TABLE syncscope.replication_health (
  target text PRIMARY KEY CHECK (length(target) > 0),
  observed_at timestamptz NOT NULL,
  agent text NOT NULL,
  health jsonb NOT NULL
);

-- Down Migration
DROP TABLE syncscope.replication_health;
