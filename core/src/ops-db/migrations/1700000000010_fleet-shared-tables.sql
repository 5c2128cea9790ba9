-- Up Migration

-- The live state of each held canary (a user whose sync stream an agent keeps open and re-verifies on
-- every checkpoint_diff), written by the agent that holds it and read by the console's fleet view.
CREATE TABLE syncscope.canary_status (
  target text NOT NULL CHECK (length(target) > 0),
  user_id text NOT NULL CHECK (length(user_id) > 0),
  agent text NOT NULL,
  verdict text NOT NULL CHECK (verdict IN ('consistent', 'mismatch', 'inconclusive', 'error')),
  reason_code text,
  held_since timestamptz NOT NULL,
  -- The last checkpoint (or checkpoint_diff) the canary's stream delivered.
  last_checkpoint_at timestamptz,
  -- The last freshness marker's write → arrival on this canary's stream.
  last_freshness_seconds double precision,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (target, user_id)
);

-- How many users a target has, as its `users_query` counted them at the last sweep: the denominator of
-- "share of users verified".
CREATE TABLE syncscope.target_population (
  target text PRIMARY KEY CHECK (length(target) > 0),
  users bigint NOT NULL CHECK (users >= 0),
  counted_at timestamptz NOT NULL
);

-- Down Migration
DROP TABLE syncscope.target_population;
DROP TABLE syncscope.canary_status;
