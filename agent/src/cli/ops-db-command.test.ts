import { checkOpsDatabaseReady } from '@syncscope/core/ops-db/ops-readiness';
import { execSql, testPgUrl } from '@syncscope/core/testing/test-database';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCliCaptured } from './run-cli-captured.ts';

const DATABASE = 'ops_db_setup_cli';
/** The test server's superuser URL without a database, as the Kubernetes setup job is given it. */
const server = () => {
  const url = new URL(testPgUrl('postgres'));
  url.pathname = '';
  return url.toString();
};
const env = () => ({
  SYNCSCOPE_SETUP_SUPERUSER_URL: server(),
  SYNCSCOPE_OPS_OWNER_PASSWORD: 'owner-password-for-cli-test',
  SYNCSCOPE_OPS_CONSOLE_PASSWORD: 'console-password-for-cli-test',
  SYNCSCOPE_OPS_AGENT_PASSWORD: 'agent-password-for-cli-test'
});
const roleUrl = (role: string, password: string) => {
  const url = new URL(testPgUrl(DATABASE));
  url.username = role;
  url.password = password;
  return url.toString();
};

beforeAll(async () => {
  await execSql(testPgUrl('postgres'), `DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`);
});

describe('syncscope ops-db setup', () => {
  it('creates the database, roles and schema, and a second run (an upgrade) finds nothing to do', async () => {
    const first = await runCliCaptured(['ops-db', 'setup', '--database', DATABASE], { env: env() });
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(
      new RegExp(
        `^Created database ${DATABASE}\\.\\nOps database ${DATABASE} set up: .*applied 1700000000000_`
      )
    );
    // The console's and agents' roles log in with their passwords and find the schema: their readiness.
    expect(
      await checkOpsDatabaseReady(roleUrl('syncscope_console', env().SYNCSCOPE_OPS_CONSOLE_PASSWORD))
    ).toEqual({
      ready: true
    });
    expect(
      await checkOpsDatabaseReady(roleUrl('syncscope_agent', env().SYNCSCOPE_OPS_AGENT_PASSWORD))
    ).toEqual({
      ready: true
    });

    const again = await runCliCaptured(['ops-db', 'setup', '--database', DATABASE], { env: env() });
    expect(again).toEqual({
      code: 0,
      stdout: `Ops database ${DATABASE} set up: roles syncscope_owner, syncscope_console, syncscope_agent; no migration pending.\n`,
      stderr: ''
    });
  });

  it('refuses without a role password, naming the variable', async () => {
    const { SYNCSCOPE_OPS_AGENT_PASSWORD: _, ...missing } = env();
    const result = await runCliCaptured(['ops-db', 'setup', '--database', DATABASE], { env: missing });
    expect(result).toMatchObject({ code: 2, stdout: '' });
    expect(result.stderr).toBe(
      "SYNCSCOPE_E_OPS_ROLE_PASSWORD_MISSING: Set SYNCSCOPE_OPS_AGENT_PASSWORD: the agents' role.\n"
    );
  });

  it('refuses a superuser URL that names a database, saying what to give instead, without echoing it', async () => {
    const result = await runCliCaptured(['ops-db', 'setup'], {
      env: { ...env(), SYNCSCOPE_SETUP_SUPERUSER_URL: 'postgres://admin:s3cret-pw@db:5432/app' }
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /^SYNCSCOPE_E_CONFIG_INVALID: SYNCSCOPE_SETUP_SUPERUSER_URL must be a postgres:\/\/ URL of the server without a database .*--database \(syncscope\)/
    );
    expect(result.stderr).not.toContain('s3cret-pw');
  });
});
