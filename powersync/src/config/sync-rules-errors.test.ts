import type { SyncScopeError } from '@syncscope/core';
import { afterAll, describe, expect, it } from 'vitest';
import { startDevServerHarness } from '../testing/dev-server-harness.ts';

const SOURCE = `
CREATE TABLE workspace_memberships(id text primary key, user_id text, workspace_id text);
CREATE TABLE records(id text primary key, workspace_id text, title text);
CREATE PUBLICATION powersync FOR ALL TABLES;`;

async function startError(name: string, rulesYaml: string): Promise<SyncScopeError> {
  try {
    const h = await startDevServerHarness({ name, sourceSql: SOURCE, rulesYaml });
    await h.close();
  } catch (error) {
    return error as SyncScopeError;
  }
  throw new Error('the server started with broken sync rules');
}

describe('sync rules errors refuse to start, naming the line and the reason', () => {
  afterAll(() => {});

  it('invalid YAML', async () => {
    const error = await startError(
      'rules_yaml',
      'bucket_definitions:\n  by_ws:\n    parameters: [unclosed\n'
    );
    expect(error.code).toBe('SYNCSCOPE_E_SYNC_RULES_INVALID');
    expect(error.message).toMatch(/sync_rules\.yaml:\d+:\d+/);
  });

  it('bad SQL, with its line', async () => {
    const yaml = [
      'bucket_definitions:',
      '  by_ws:',
      '    parameters: SELECT workspace_id FROM workspace_memberships WHERE user_id = request.user_id()',
      '    data:',
      '      - SELECT * FROM records WHERE workspace_id = bucket.nonexistent_param'
    ].join('\n');
    const error = await startError('rules_sql', yaml);
    expect(error.code).toBe('SYNCSCOPE_E_SYNC_RULES_INVALID');
    expect(error.message).toContain('sync_rules.yaml:5:');
    expect(error.message).toContain('bucket.nonexistent_param');
  });

  it('an unknown table, with the line that names it', async () => {
    const yaml = [
      'bucket_definitions:',
      '  by_ws:',
      '    parameters: SELECT workspace_id FROM workspace_memberships WHERE user_id = request.user_id()',
      '    data:',
      '      - SELECT * FROM recordz WHERE workspace_id = bucket.workspace_id'
    ].join('\n');
    const error = await startError('rules_table', yaml);
    expect(error.code).toBe('SYNCSCOPE_E_SYNC_RULES_INVALID');
    expect(error.message).toContain('public.recordz');
    expect(error.message).toContain('sync_rules.yaml:5:');
  });
});
