import type { ReactNode } from 'react';

const SQL_KEYWORDS =
  /\b(SELECT|FROM|WHERE|AND|OR|NOT|IN|AS|JOIN|ON|IS|NULL|TRUE|FALSE|LIKE|CAST|ORDER|BY|GROUP|LIMIT)\b/gi;

/** Highlights one line of sync_rules.yaml (comments, keys, quoted strings, SQL keywords) as React text. */
function highlightLine(line: string): ReactNode[] {
  const comment = line.match(/^(\s*)(#.*)$/);
  if (comment)
    return [
      comment[1],
      <span key="c" className="text-zinc-400 italic">
        {comment[2]}
      </span>
    ];
  const key = line.match(/^(\s*-?\s*)([A-Za-z_][\w-]*)(:)(.*)$/);
  const [lead, keyText, colon, rest] = key ? [key[1], key[2], key[3], key[4]] : ['', '', '', line];
  const out: ReactNode[] = [lead];
  if (keyText)
    out.push(
      <span key="k" className="text-sky-700 dark:text-sky-400">
        {keyText}
      </span>,
      colon
    );
  let last = 0;
  let n = 0;
  for (const match of (rest ?? '').matchAll(new RegExp(`'[^']*'|"[^"]*"|${SQL_KEYWORDS.source}`, 'gi'))) {
    out.push(rest!.slice(last, match.index));
    const quoted = match[0].startsWith("'") || match[0].startsWith('"');
    out.push(
      <span
        key={n++}
        className={
          quoted
            ? 'text-emerald-700 dark:text-emerald-400'
            : 'font-semibold text-violet-700 dark:text-violet-400'
        }
      >
        {match[0]}
      </span>
    );
    last = (match.index ?? 0) + match[0].length;
  }
  out.push(rest!.slice(last));
  return out;
}

/** A lint finding shown under its line. */
export interface LineFinding {
  line: number;
  severity: 'error' | 'warning' | 'info';
  rule: string;
  message: string;
  fix: string;
}

const FINDING_STYLES = {
  error: { line: 'bg-rose-100 dark:bg-rose-950', text: 'text-rose-800 dark:text-rose-300' },
  warning: { line: 'bg-amber-50 dark:bg-amber-950', text: 'text-amber-800 dark:text-amber-300' },
  info: { line: '', text: 'text-zinc-500' }
} as const;

function lineClass(problem: boolean, findings: LineFinding[]): string | undefined {
  if (problem || findings.some((f) => f.severity === 'error')) return FINDING_STYLES.error.line;
  return findings.some((f) => f.severity === 'warning') ? FINDING_STYLES.warning.line : undefined;
}

export function HighlightedYaml({
  text,
  problemLines,
  findings = []
}: {
  text: string;
  problemLines: Set<number>;
  findings?: LineFinding[];
}) {
  return (
    <pre
      className="overflow-auto rounded-md bg-zinc-50 p-3 font-mono text-xs leading-5 dark:bg-zinc-900"
      data-testid="rules-yaml"
    >
      {text.split('\n').map((line, i) => {
        const at = findings.filter((f) => f.line === i + 1);
        return (
          // biome-ignore lint/suspicious/noArrayIndexKey: lines are positional (the line number is their identity)
          <div key={i} id={`L${i + 1}`} className={lineClass(problemLines.has(i + 1), at)}>
            <span className="mr-3 inline-block w-8 select-none text-right text-zinc-400">{i + 1}</span>
            {highlightLine(line)}
            {at.map((f) => (
              <div
                key={f.rule + f.message}
                className={`ml-11 whitespace-pre-wrap font-sans ${FINDING_STYLES[f.severity].text}`}
                data-testid={`finding-line-${f.line}`}
              >
                {f.severity} · {f.message}
                <br />
                fix: <span className="font-mono">{f.fix}</span>
              </div>
            ))}
          </div>
        );
      })}
    </pre>
  );
}
