import { Text } from '@codemirror/state';
import type { DraftProblem } from '@syncscope/core/rules-insight/dry-run/dry-run-report';
import { describe, expect, it } from 'vitest';
import { problemDiagnostic } from './draft-diagnostics';

const doc = Text.of([
  'bucket_definitions:',
  '  by_user:',
  '    data: SELECT * FROM todos WHERE owner = bucket.x'
]);
const problem = (p: Partial<DraftProblem>): DraftProblem => ({
  source: 'schema',
  severity: 'error',
  line: 3,
  message: 'Column owner does not exist on public.todos',
  ...p
});
const marked = (p: DraftProblem) => {
  const d = problemDiagnostic(doc, p);
  return doc.sliceString(d.from, d.to);
};

describe('a draft problem in the editor', () => {
  it('marks its line from the first non-blank character to the end', () => {
    expect(marked(problem({}))).toBe('data: SELECT * FROM todos WHERE owner = bucket.x');
  });

  it('starts at its column when it has one', () => {
    expect(marked(problem({ column: 37 }))).toBe('owner = bucket.x');
  });

  it('marks the first line for a problem without a line or past the end', () => {
    expect(marked(problem({ line: 0, column: 5 }))).toBe('bucket_definitions:');
    expect(marked(problem({ line: 9 }))).toBe('bucket_definitions:');
  });

  it('keeps the source and severity, and puts the fix under the message', () => {
    const d = problemDiagnostic(doc, problem({ severity: 'warning', fix: 'Use owner_id' }));
    expect(d).toMatchObject({
      severity: 'warning',
      source: 'schema',
      message: 'Column owner does not exist on public.todos\nFix: Use owner_id'
    });
  });
});
