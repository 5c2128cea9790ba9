import Link from 'next/link';
import type { ReactNode } from 'react';

/** Small shared building blocks; every value is rendered as React text (never as HTML). */
export function PageHeader({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <header className="mb-4 flex flex-wrap items-end justify-between gap-2 border-b border-zinc-200 pb-3 dark:border-zinc-800">
      <h1 className="text-lg font-semibold tracking-tight">{title}</h1>
      {children}
    </header>
  );
}

export function Card({
  title,
  children,
  className = ''
}: {
  title?: ReactNode;
  children: ReactNode;
  className?: string;
}) {
  return (
    <section className={`rounded-md border border-zinc-200 p-3 dark:border-zinc-800 ${className}`}>
      {title ? (
        <h2 className="mb-2 text-xs font-semibold uppercase tracking-wide text-zinc-500">{title}</h2>
      ) : null}
      {children}
    </section>
  );
}

const VERDICT_STYLES: Record<string, string> = {
  consistent: 'bg-emerald-100 text-emerald-900 dark:bg-emerald-900/40 dark:text-emerald-200',
  mismatch: 'bg-rose-100 text-rose-900 dark:bg-rose-900/40 dark:text-rose-200',
  // We could not tell: a warning, never mismatch's red (an outage is not an accusation).
  inconclusive:
    'bg-amber-50 text-amber-900 ring-1 ring-amber-400 ring-inset dark:bg-amber-900/20 dark:text-amber-200 dark:ring-amber-600',
  error: 'bg-violet-100 text-violet-900 dark:bg-violet-900/40 dark:text-violet-200',
  queued: 'bg-zinc-100 text-zinc-700 dark:bg-zinc-800 dark:text-zinc-300',
  running: 'bg-sky-100 text-sky-900 dark:bg-sky-900/40 dark:text-sky-200',
  failed: 'bg-amber-100 text-amber-900 dark:bg-amber-900/40 dark:text-amber-200',
  passed: 'bg-emerald-100 text-emerald-900 dark:bg-emerald-900/40 dark:text-emerald-200',
  skipped: 'bg-zinc-100 text-zinc-500 dark:bg-zinc-800 dark:text-zinc-400',
  retryable: 'bg-amber-100 text-amber-900 dark:bg-amber-900/40 dark:text-amber-200',
  final: 'bg-rose-100 text-rose-900 dark:bg-rose-900/40 dark:text-rose-200',
  up: 'bg-emerald-100 text-emerald-900 dark:bg-emerald-900/40 dark:text-emerald-200',
  down: 'bg-rose-100 text-rose-900 dark:bg-rose-900/40 dark:text-rose-200'
};

/** A table's head: one cell per label; `right` lists the labels of right-aligned (numeric) columns. */
export function TableHead({ labels, right = [] }: { labels: string[]; right?: string[] }) {
  return (
    <thead className="text-xs text-zinc-500">
      <tr>
        {labels.map((label) => (
          <th key={label} className={`py-1 pr-3 font-medium ${right.includes(label) ? 'text-right' : ''}`}>
            {label}
          </th>
        ))}
      </tr>
    </thead>
  );
}

/** A body row of a list table. */
export const rowClass = 'border-t border-zinc-100 align-top dark:border-zinc-900';

export function Badge({ value }: { value: string }) {
  return (
    <span
      data-verdict={value}
      className={`inline-block rounded px-1.5 py-0.5 text-xs font-medium ${VERDICT_STYLES[value] ?? VERDICT_STYLES.queued}`}
    >
      {value}
    </span>
  );
}

/** Ids, SQL and JSON. `nowrap` for ids in table cells (an id broken over lines cannot be read or copied). */
export function Mono({ children, nowrap = false }: { children: ReactNode; nowrap?: boolean }) {
  return (
    <code className={`font-mono text-xs ${nowrap ? 'whitespace-nowrap' : 'break-all'}`}>{children}</code>
  );
}

export function TextLink({ href, children }: { href: string; children: ReactNode }) {
  return (
    <Link href={href} className="text-sky-700 underline-offset-2 hover:underline dark:text-sky-400">
      {children}
    </Link>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="py-6 text-center text-zinc-500">{children}</p>;
}

/** A form's error, announced to screen readers; nothing when there is none. */
export function FormError({ message }: { message: string | null }) {
  if (!message) return null;
  return (
    <p role="alert" className="text-rose-700 dark:text-rose-400">
      {message}
    </p>
  );
}

export function ErrorBox({ children }: { children: ReactNode }) {
  return (
    <div
      role="alert"
      className="rounded-md border border-rose-300 bg-rose-50 p-3 text-rose-900 dark:border-rose-800 dark:bg-rose-950 dark:text-rose-200"
    >
      {children}
    </div>
  );
}

export const inputClass =
  'rounded border border-zinc-300 bg-white px-2 py-1 text-sm dark:border-zinc-700 dark:bg-zinc-900';
export const buttonClass =
  'rounded bg-zinc-900 px-3 py-1 text-sm font-medium text-white hover:bg-zinc-700 disabled:opacity-50 dark:bg-zinc-100 dark:text-zinc-900 dark:hover:bg-zinc-300';

export function Time({ value }: { value: string | Date | null }) {
  if (!value) return <span>—</span>;
  const date = new Date(value);
  const iso = date.toISOString();
  return (
    <time dateTime={iso} title={iso} className="whitespace-nowrap tabular-nums">
      {iso.slice(0, 19).replace('T', ' ')}
    </time>
  );
}

export function Pager({
  basePath,
  params,
  offset,
  limit,
  total
}: {
  basePath: string;
  params: Record<string, string | undefined>;
  offset: number;
  limit: number;
  total: number;
}) {
  const link = (nextOffset: number) => {
    const search = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v) search.set(k, v);
    search.set('offset', String(nextOffset));
    return `${basePath}?${search.toString()}`;
  };
  return (
    <nav aria-label="pages" className="mt-2 flex items-center gap-3 text-xs text-zinc-500">
      <span>
        {total === 0 ? 0 : offset + 1}–{Math.min(offset + limit, total)} of {total.toLocaleString('en')}
      </span>
      {offset > 0 ? <TextLink href={link(Math.max(0, offset - limit))}>previous</TextLink> : null}
      {offset + limit < total ? <TextLink href={link(offset + limit)}>next</TextLink> : null}
    </nav>
  );
}
