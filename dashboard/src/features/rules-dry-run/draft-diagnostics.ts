import type { Diagnostic } from '@codemirror/lint';
import type { Text } from '@codemirror/state';
import type { DraftProblem } from '@syncscope/core/rules-insight/dry-run/dry-run-report';

/** How a problem reads in the editor's tooltip and in the list under it. */
export const problemText = (p: DraftProblem): string => `${p.message}${p.fix ? `\nFix: ${p.fix}` : ''}`;

/**
 * A problem at its line of `doc` (from its column, or the line's first non-blank character, to the
 * line's end); a problem without a line (0) or past the end marks the first line.
 */
export function problemDiagnostic(doc: Text, p: DraftProblem): Diagnostic {
  const line = doc.line(p.line >= 1 && p.line <= doc.lines ? p.line : 1);
  const indent = line.text.length - line.text.trimStart().length;
  const offset = p.column && p.line >= 1 ? Math.min(p.column - 1, line.length) : indent;
  const from = line.from + offset;
  return {
    from,
    to: Math.max(from, line.to),
    severity: p.severity,
    source: p.source,
    message: problemText(p)
  };
}
