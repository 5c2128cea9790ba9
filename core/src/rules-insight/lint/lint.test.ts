import { createTestDatabase, execSql } from '@syncscope/core/testing/test-database';
import { beforeAll, describe, expect, it } from 'vitest';
import { readLintFindings } from './lint-rules.ts';

const RULES = `bucket_definitions:
  by_project:
    parameters: SELECT project_id FROM project_members WHERE user_id = request.user_id()
    data:
      - SELECT * FROM tasks WHERE project_id = bucket.project_id
      - SELECT * FROM attachments WHERE project_id = bucket.project_id
  everyone:
    data:
      - SELECT id, label FROM announcements
`;

describe('lint against the source', () => {
  let url: string;
  beforeAll(async () => {
    url = await createTestDatabase('rules_insight_lint');
    await execSql(
      url,
      `CREATE TABLE project_members (id text PRIMARY KEY, user_id text NOT NULL, project_id text NOT NULL);
       CREATE INDEX project_members_user ON project_members (user_id);
       CREATE TABLE tasks (id text PRIMARY KEY, project_id text NOT NULL, title text NOT NULL);
       CREATE TABLE attachments (id text PRIMARY KEY, project_id text NOT NULL, body text NOT NULL);
       CREATE INDEX attachments_project ON attachments (project_id);
       CREATE TABLE announcements (id text, label text);
       CREATE PUBLICATION powersync FOR TABLE project_members, tasks, attachments, announcements;
       INSERT INTO project_members SELECT 'm' || i, 'u-big', 'p' || i FROM generate_series(1, 4) i;
       INSERT INTO project_members VALUES ('m-small', 'u-small', 'p1');
       INSERT INTO attachments SELECT 'a' || i, 'p1', repeat('x', 3000) FROM generate_series(1, 20) i;`
    );
  });

  it('reports each problem at its line with its fix, errors first', async () => {
    const findings = await readLintFindings({ sourceUrl: url, syncRulesYaml: RULES }, { bucketLimit: 3 });
    expect(findings.map((f) => [f.severity, f.rule, f.line])).toEqual([
      ['error', 'bucket-limit', 3],
      ['error', 'no-replica-identity', 9],
      ['warning', 'unindexed-filter', 5],
      ['warning', 'wide-select-star', 6]
    ]);
    const [limit, identity, unindexed, wide] = findings;
    expect(limit!.message).toBe(
      'User u-big gets up to 5 buckets (by_project (line 3): 4, everyone (line 7): 1); the service refuses a connection over 3 (PSYNC_S2305: too many buckets).'
    );
    expect(identity!.fix).toBe(
      'ALTER TABLE "public"."announcements" ADD PRIMARY KEY (id); (or ALTER TABLE "public"."announcements" REPLICA IDENTITY FULL;)'
    );
    expect(unindexed!.message).toContain(
      'public.tasks.project_id is compared with bucket.project_id, but no index leads with it'
    );
    expect(unindexed!.fix).toBe(
      'CREATE INDEX CONCURRENTLY "tasks_project_id_idx" ON "public"."tasks" ("project_id");'
    );
    expect(wide!.message).toBe(
      'SELECT * syncs attachments.body (text, 3,000 bytes on average) in every row of every bucket.'
    );
    expect(wide!.fix).toBe('name the columns the app needs: SELECT id, project_id FROM attachments …');
  });

  it('the unindexed filter disappears once the index exists, and the limit finding under the limit', async () => {
    await execSql(url, 'CREATE INDEX tasks_project_id_idx ON tasks (project_id)');
    try {
      const findings = await readLintFindings({ sourceUrl: url, syncRulesYaml: RULES });
      expect(findings.map((f) => f.rule)).toEqual(['no-replica-identity', 'wide-select-star']);
    } finally {
      await execSql(url, 'DROP INDEX tasks_project_id_idx');
    }
  });

  it('a table taken out of the publication is an error with the ALTER PUBLICATION fix', async () => {
    await execSql(url, 'ALTER PUBLICATION powersync DROP TABLE tasks');
    try {
      const findings = await readLintFindings({ sourceUrl: url, syncRulesYaml: RULES });
      const unpublished = findings.filter((f) => f.rule === 'table-not-published');
      expect(unpublished).toEqual([
        {
          rule: 'table-not-published',
          severity: 'error',
          line: 5,
          message:
            'public.tasks is not in the publication "powersync": its rows and changes never reach the service.',
          fix: 'ALTER PUBLICATION powersync ADD TABLE "public"."tasks";'
        }
      ]);
    } finally {
      await execSql(url, 'ALTER PUBLICATION powersync ADD TABLE tasks');
    }
  });

  it('a text column compared with an integer claim is an error at its line', async () => {
    const rules = `bucket_definitions:
  by_project:
    parameters: SELECT request.jwt() ->> 'project_no' AS project_id
    data:
      - SELECT * FROM tasks WHERE project_id = bucket.project_id
`;
    const findings = await readLintFindings({
      sourceUrl: url,
      syncRulesYaml: rules,
      extraClaims: { project_no: 7 }
    });
    expect(findings[0]).toMatchObject({ rule: 'type-mismatch', severity: 'error', line: 5 });
    expect(findings[0]!.message).toContain(
      'tasks.project_id (text) is compared with bucket.project_id, which is the claim project_no'
    );
  });
});
