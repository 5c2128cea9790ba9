import { describe, expect, it } from 'vitest';
import { cachedSyncRules } from './cached-sync-rules.ts';

const rules = (table: string) => `
bucket_definitions:
  global:
    data:
      - SELECT * FROM ${table}
`;

describe('cachedSyncRules', () => {
  it('parses a text once and hands every caller the same rules; another text, file or version parses again', () => {
    const first = cachedSyncRules(rules('lists'));
    expect(cachedSyncRules(rules('lists'))).toBe(first);
    expect(cachedSyncRules(rules('todos'))).not.toBe(first);
    expect(cachedSyncRules(rules('lists'), { version: 2 })).not.toBe(first);
    expect(cachedSyncRules(rules('lists'), { version: 2 }).version).toBe(2);
    expect(cachedSyncRules(rules('lists'), { file: 'other.yaml' })).not.toBe(first);
  });

  it('reports invalid rules at every load (they are not kept)', () => {
    const invalid = 'bucket_definitions:\n  global:\n    data:\n      - SELECT FROM\n';
    expect(() => cachedSyncRules(invalid)).toThrow(
      expect.objectContaining({ code: 'SYNCSCOPE_E_SYNC_RULES_INVALID' })
    );
    expect(() => cachedSyncRules(invalid)).toThrow(
      expect.objectContaining({ code: 'SYNCSCOPE_E_SYNC_RULES_INVALID' })
    );
  });
});
