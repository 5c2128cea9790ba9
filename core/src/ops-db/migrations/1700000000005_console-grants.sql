-- Up Migration

-- Console roles are granted per target (a viewer of `staging` sees nothing of `prod`), or for all targets
-- (target NULL). A user's role on a target is the highest of their grants for it and for all targets.
CREATE TABLE syncscope.console_grants (
  id bigserial PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES syncscope.console_users (id) ON DELETE CASCADE,
  target text CHECK (target IS NULL OR length(target) > 0),
  role text NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
  granted_at timestamptz NOT NULL DEFAULT now()
);
-- One grant per user and scope; NULLS NOT DISTINCT makes the all-targets grant unique too.
CREATE UNIQUE INDEX console_grants_user_target ON syncscope.console_grants (user_id, target) NULLS NOT DISTINCT;

-- Each existing user's global role becomes an all-targets grant, so nobody gains or loses access.
INSERT INTO syncscope.console_grants (user_id, target, role)
  SELECT id, NULL, role FROM syncscope.console_users;
ALTER TABLE syncscope.console_users DROP COLUMN role;

-- Sign-in throttling is a backoff per (email, address) and per address; failures are looked up by both.
CREATE INDEX login_failures_email_address_at ON syncscope.login_failures (email, client_address, at DESC);

-- Down Migration
DROP INDEX syncscope.login_failures_email_address_at;
ALTER TABLE syncscope.console_users ADD COLUMN role text NOT NULL DEFAULT 'viewer'
  CHECK (role IN ('viewer', 'operator', 'admin'));
UPDATE syncscope.console_users u SET role = g.role
  FROM syncscope.console_grants g WHERE g.user_id = u.id AND g.target IS NULL;
DROP TABLE syncscope.console_grants;
