import { REDACTED } from '@syncscope/core/upload-errors/redact';
import { Fragment } from 'react';

/** 24 hourly counts as bars (SVG, no script). */
export function Sparkline({ values }: { values: number[] }) {
  const max = Math.max(1, ...values);
  return (
    <svg
      width={values.length * 4}
      height={20}
      role="img"
      aria-label={`last 24 h: ${values.join(', ')}`}
      className="text-rose-500"
    >
      {values.map((v, i) => (
        <rect
          // biome-ignore lint/suspicious/noArrayIndexKey: bars are positional (one per hour)
          key={i}
          x={i * 4}
          y={20 - (v / max) * 20}
          width={3}
          height={(v / max) * 20}
          fill="currentColor"
        />
      ))}
    </svg>
  );
}

/** An operation's data as JSON text; redacted values are marked. Never rendered as markup. */
export function OperationData({ data }: { data: unknown }) {
  if (data === null || data === undefined) return <span className="text-zinc-400">no data</span>;
  const parts = JSON.stringify(data, null, 1).split(`"${REDACTED}"`);
  return (
    <pre
      className="max-w-xl overflow-auto whitespace-pre-wrap break-all font-mono text-xs"
      data-testid="operation-data"
    >
      {parts.map((part, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: positional pieces of one string
        <Fragment key={i}>
          {part}
          {i < parts.length - 1 ? (
            <span
              className="rounded bg-zinc-200 px-1 text-zinc-600 dark:bg-zinc-800 dark:text-zinc-300"
              data-redacted
            >
              ••• redacted
            </span>
          ) : null}
        </Fragment>
      ))}
    </pre>
  );
}
