-- The demo app's schema (the article's app). Ids are text UUIDs: PowerSync needs an `id` column on every
-- synced table. Applied on every start; every statement is idempotent.
CREATE TABLE IF NOT EXISTS users (
  id text PRIMARY KEY,
  email text NOT NULL UNIQUE,
  name text
);
CREATE TABLE IF NOT EXISTS workspaces (
  id text PRIMARY KEY,
  name text NOT NULL
);
CREATE TABLE IF NOT EXISTS workspace_memberships (
  id text PRIMARY KEY,
  user_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  workspace_id text NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  role text NOT NULL CHECK (role IN ('owner', 'member', 'viewer')),
  UNIQUE (user_id, workspace_id)
);
CREATE TABLE IF NOT EXISTS categories (
  id text PRIMARY KEY,
  workspace_id text NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  name text NOT NULL,
  usage_count int NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS records (
  id text PRIMARY KEY,
  workspace_id text NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  title text NOT NULL,
  amount numeric(12, 3),
  category_id text REFERENCES categories (id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz
);
CREATE INDEX IF NOT EXISTS workspace_memberships_user ON workspace_memberships (user_id);
CREATE INDEX IF NOT EXISTS workspace_memberships_workspace ON workspace_memberships (workspace_id);
CREATE INDEX IF NOT EXISTS categories_workspace ON categories (workspace_id);
CREATE INDEX IF NOT EXISTS records_workspace ON records (workspace_id);
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = 'powersync') THEN
    CREATE PUBLICATION powersync FOR ALL TABLES;
  END IF;
END $$;
