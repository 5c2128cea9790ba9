/** The article's rules and schema with one user (`u-bench`, workspace ws-1) holding N records. */
export const BENCH_RULES = `bucket_definitions:
  by_workspace:
    parameters: SELECT workspace_id FROM workspace_memberships WHERE user_id = request.user_id()
    data:
      - SELECT * FROM records WHERE workspace_id = bucket.workspace_id
      - SELECT * FROM categories WHERE workspace_id = bucket.workspace_id
`;

/** N records (and 10 categories) for u-bench; `others` adds as many records in a workspace u-bench lacks. */
export const benchDatasetSql = (n: number, options: { others?: boolean } = {}) => `
CREATE TABLE workspace_memberships(id text primary key, user_id text, workspace_id text, role text);
CREATE TABLE records(id text primary key, workspace_id text, title text, amount numeric, category_id text, created_at timestamptz);
CREATE TABLE categories(id text primary key, workspace_id text, name text, usage_count int);
CREATE INDEX ON records(workspace_id);
CREATE PUBLICATION powersync FOR ALL TABLES;
INSERT INTO workspace_memberships VALUES ('m1', 'u-bench', 'ws-1', 'owner');
INSERT INTO categories SELECT 'cat-'||c, 'ws-1', 'Category '||c, c FROM generate_series(1, 10) c;
INSERT INTO records SELECT 'rec-'||i, 'ws-1', 'Record number '||i, (i * 1.25)::numeric(12,3), 'cat-'||(i % 10 + 1),
  timestamptz '2026-01-01 00:00:00+00' + (i || ' seconds')::interval FROM generate_series(1, ${n}) i;
${options.others ? `INSERT INTO records SELECT 'other-'||i, 'ws-2', 'Not this user', 1, null, now() FROM generate_series(1, ${n}) i;` : ''}`;
