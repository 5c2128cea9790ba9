import { withCredentials } from '@syncscope/core/ops-db/ops-roles';
import { createTestDatabase, execSql } from '@syncscope/core/testing/test-database';
import { describe, expect, it } from 'vitest';
import { composeSetup, DEMO_APP_ROLE, ensureDemoAppRole } from './compose-setup.ts';

describe("compose's setup", () => {
  it('refuses to run without a password for each role, naming the variable', async () => {
    await expect(composeSetup({ SYNCSCOPE_OPS_OWNER_PASSWORD: 'x' })).rejects.toMatchObject({
      code: 'SYNCSCOPE_E_OPS_ROLE_PASSWORD_MISSING',
      message: 'Set SYNCSCOPE_OPS_CONSOLE_PASSWORD: the setup gives it to a role.'
    });
  });

  it("gives the demo backend a role that reads and writes the app's rows and cannot change the schema", async () => {
    const url = await createTestDatabase('compose_demo_app_role');
    await execSql(url, 'CREATE TABLE records (id serial PRIMARY KEY, title text)');
    await ensureDemoAppRole(url, 'demo-app-pw');
    const asApp = withCredentials(url, DEMO_APP_ROLE, 'demo-app-pw');
    await execSql(
      asApp,
      "INSERT INTO records (title) VALUES ('a'); UPDATE records SET title = 'b'; DELETE FROM records"
    );
    for (const sql of [
      'DROP TABLE records',
      'ALTER TABLE records ADD COLUMN x int',
      'CREATE TABLE other (id int)'
    ])
      await expect(execSql(asApp, sql)).rejects.toThrow(/must be owner|permission denied/);
  });
});
