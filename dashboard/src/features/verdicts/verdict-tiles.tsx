import { PROBE_VERDICTS } from '@syncscope/core/probe/verdicts';
import Link from 'next/link';
import { VERDICT_DOT } from './verdict-filters';

/** The overview's four counts of the last 24 h, each opening the history filtered to that verdict. */
export function VerdictTiles({ counts }: { counts: Record<string, number> }) {
  return (
    <div className="mb-4 grid grid-cols-2 gap-2 sm:grid-cols-4" data-testid="verdict-tiles">
      {PROBE_VERDICTS.map((verdict) => (
        <Link
          key={verdict}
          href={`/probes?verdict=${verdict}`}
          data-testid={`verdict-tile-${verdict}`}
          className="rounded-md border border-zinc-200 p-3 hover:bg-zinc-50 dark:border-zinc-800 dark:hover:bg-zinc-900"
        >
          <span className="flex items-center gap-1.5 text-xs text-zinc-500">
            <span className={`inline-block h-2.5 w-2.5 rounded-full ${VERDICT_DOT[verdict]}`} />
            {verdict} · 24 h
          </span>
          <span className="text-2xl font-semibold tabular-nums">{counts[verdict] ?? 0}</span>
        </Link>
      ))}
    </div>
  );
}

/** "3 consistent, 1 inconclusive": a target's 24 h counts in verdict order, zeros left out. */
export function verdictCountsText(counts: Record<string, number>): string {
  return (
    PROBE_VERDICTS.filter((v) => counts[v])
      .map((v) => `${counts[v]} ${v}`)
      .join(', ') || 'no probes'
  );
}
