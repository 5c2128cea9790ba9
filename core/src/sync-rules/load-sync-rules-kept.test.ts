import { describe, expect, it } from 'vitest';
import { loadSyncRulesKept } from './load-sync-rules.ts';

const RULES = `bucket_definitions:
  mine:
    parameters: SELECT request.user_id() AS user_id
    data:
      - SELECT * FROM todos WHERE owner_id = bucket.user_id
`;

describe('loadSyncRulesKept', () => {
  it('parses a text once per file and version, and again for another text, file or version', () => {
    const first = loadSyncRulesKept(RULES, { file: 'a.yaml' });
    expect(loadSyncRulesKept(RULES, { file: 'a.yaml' })).toBe(first);
    expect(first.hydrated).toBeDefined();
    expect(loadSyncRulesKept(RULES, { file: 'b.yaml' })).not.toBe(first);
    expect(loadSyncRulesKept(RULES, { file: 'a.yaml', version: 7 }).version).toBe(7);
    expect(loadSyncRulesKept(`${RULES}\n`, { file: 'a.yaml' })).not.toBe(first);
  });

  it('refuses invalid rules every time, with their line', () => {
    const invalid = 'bucket_definitions:\n  broken:\n    data:\n      - SELECT * FROM\n';
    for (let i = 0; i < 2; i++)
      expect(() => loadSyncRulesKept(invalid, { file: 'bad.yaml' })).toThrow(/bad\.yaml:4:/);
  });
});
