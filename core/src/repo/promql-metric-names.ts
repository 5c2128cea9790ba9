/**
 * The metric names a PromQL expression selects, for checking alert rules and dashboards against the
 * registries. A tokenizer rather than a full parser: strings, comments, label matchers, grouping label
 * lists and range/subquery brackets are removed, then every identifier that is not a function call,
 * keyword or number part is a metric name. `{__name__=...}` selectors are refused, not guessed at.
 */
const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'offset',
  'bool',
  'inf',
  'nan'
]);

export function metricNamesIn(expr: string): string[] {
  if (expr.includes('__name__')) throw new Error(`select metrics by name, not __name__: ${expr}`);
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/#[^\n]*/g, '')
    .replace(/\{[^}]*\}/g, '{}')
    .replace(/\[[^\]]*\]/g, '[]')
    // Grouping and matching clauses, so `sum by (target) (x)` reads as the call `sum (x)`.
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/gi, '');
  const names = new Set<string>();
  for (const m of stripped.matchAll(/(?<![\w.:])[a-zA-Z_:][\w:]*(?![\w:]|\s*\()/g)) {
    if (!KEYWORDS.has(m[0].toLowerCase())) names.add(m[0]);
  }
  return [...names].sort();
}
