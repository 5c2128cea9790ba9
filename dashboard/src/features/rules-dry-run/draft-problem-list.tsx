import type { DraftProblem } from '@syncscope/core/rules-insight/dry-run/dry-run-report';

const SOURCE_LABEL: Record<DraftProblem['source'], string> = {
  yaml: 'YAML',
  rules: 'rules library',
  service: "service's validate",
  schema: 'live source'
};

/** The draft's problems as a list by line (the editor shows the same ones at their lines). */
export function DraftProblemList({ problems }: { problems: DraftProblem[] }) {
  const sorted = [...problems].sort((a, b) => a.line - b.line || (a.column ?? 0) - (b.column ?? 0));
  return (
    <ul className="space-y-1" data-testid="draft-problems">
      {sorted.map((p) => (
        <li
          key={`${p.source}:${p.line}:${p.column ?? 0}:${p.message}`}
          data-testid={`draft-problem-line-${p.line}`}
          className={
            p.severity === 'error' ? 'text-rose-700 dark:text-rose-400' : 'text-amber-700 dark:text-amber-400'
          }
        >
          {p.severity} · {p.line ? `line ${p.line}` : 'whole file'} · {SOURCE_LABEL[p.source]}: {p.message}
          {p.fix ? <span className="block pl-4 text-zinc-600 dark:text-zinc-400">fix: {p.fix}</span> : null}
        </li>
      ))}
    </ul>
  );
}
