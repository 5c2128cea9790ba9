import { PROBE_VERDICTS } from '@syncscope/core/probe/verdicts';
import { UserLabel } from '@/features/user-labels/user-label';
import type { UserLabels } from '@/features/user-labels/user-labels.server';
import { VERDICT_DOT } from '@/features/verdicts/verdict-filters';
import { ReasonCode } from '@/features/verdicts/verdict-reason';
import { Badge, Empty, rowClass, TableHead, TextLink, Time } from '@/ui/primitives';
import type {
  CanaryFreshness,
  DifferenceSource,
  HourVerdicts,
  ProblemUser,
  VerifiedShare
} from './fleet.server';

/** "42.0 %", or why there is no share: the sweep never counted the target's users, or it has none. */
export function shareText({ verified, population }: Pick<VerifiedShare, 'verified' | 'population'>): string {
  if (population === null) return 'unknown';
  if (population === 0) return 'no users';
  return `${((100 * verified) / population).toFixed(1)} %`;
}

/** "45 s", "12 min", "3 h", "2 d": how long ago, for freshness columns. */
export function ageText(at: Date | null, now: Date): string {
  if (!at) return 'never';
  const s = Math.max(0, Math.round((now.getTime() - new Date(at).getTime()) / 1000));
  if (s < 120) return `${s} s`;
  if (s < 7_200) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86_400)} d`;
}

export function VerifiedTable({ shares }: { shares: VerifiedShare[] }) {
  if (!shares.length) return <Empty>No targets yet.</Empty>;
  return (
    <table className="w-full text-left" data-testid="verified-share">
      <TableHead
        labels={['target', 'verified (24 h)', 'users', 'share', 'counted']}
        right={['verified (24 h)', 'users', 'share']}
      />
      <tbody className="tabular-nums">
        {shares.map((s) => (
          <tr key={s.target} className={rowClass} data-testid={`verified-${s.target}`}>
            <td className="py-1 pr-3">{s.target}</td>
            <td className="pr-3 text-right">{s.verified.toLocaleString('en')}</td>
            <td className="pr-3 text-right">
              {s.population === null ? '—' : s.population.toLocaleString('en')}
            </td>
            <td className="pr-3 text-right font-medium">{shareText(s)}</td>
            <td className="text-xs">
              {s.countedAt ? (
                <Time value={s.countedAt} />
              ) : (
                <span className="text-zinc-500">never counted</span>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Stacked bars, one per hour (oldest left), heights against the busiest hour. */
export function VerdictBars({ hours }: { hours: HourVerdicts[] }) {
  const busiest = Math.max(1, ...hours.map((h) => PROBE_VERDICTS.reduce((n, v) => n + h[v], 0)));
  return (
    <>
      <div className="flex h-32 items-end gap-px" data-testid="verdict-bars">
        {hours.map((h) => {
          const counts =
            PROBE_VERDICTS.filter((v) => h[v] > 0)
              .map((v) => `${h[v]} ${v}`)
              .join(', ') || 'no probes';
          const label = `${new Date(h.hour).toISOString().slice(0, 13).replace('T', ' ')}:00 UTC: ${counts}`;
          return (
            <div
              key={new Date(h.hour).toISOString()}
              title={label}
              className="flex h-full flex-1 flex-col-reverse"
              data-testid="verdict-hour"
            >
              <span className="sr-only">{label}</span>
              {PROBE_VERDICTS.map((v) =>
                h[v] ? (
                  <div key={v} className={VERDICT_DOT[v]} style={{ height: `${(100 * h[v]) / busiest}%` }} />
                ) : null
              )}
            </div>
          );
        })}
      </div>
      <div className="mt-1 flex justify-between text-[10px] text-zinc-500">
        <span>{hours.length} h ago</span>
        <span className="flex gap-3">
          {PROBE_VERDICTS.map((v) => (
            <span key={v} className="flex items-center gap-1">
              <span className={`inline-block h-2 w-2 rounded-full ${VERDICT_DOT[v]}`} />
              {v}
            </span>
          ))}
        </span>
        <span>now</span>
      </div>
    </>
  );
}

export function DifferenceSources({
  sources,
  dimension
}: {
  sources: DifferenceSource[];
  dimension: 'table' | 'rule';
}) {
  const rows = sources.filter((s) => s.dimension === dimension);
  if (!rows.length) return <Empty>No differences in the last 7 days.</Empty>;
  return (
    <table className="w-full text-left" data-testid={`difference-${dimension}s`}>
      <TableHead labels={[dimension, 'differences', 'runs']} right={['differences', 'runs']} />
      <tbody className="tabular-nums">
        {rows.map((s) => (
          <tr key={s.name} className={rowClass}>
            <td className="py-1 pr-3 font-mono text-xs">{s.name}</td>
            <td className="pr-3 text-right">{s.differences.toLocaleString('en')}</td>
            <td className="text-right">{s.runs.toLocaleString('en')}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function ProblemUsers({ users, label }: { users: ProblemUser[]; label: UserLabels }) {
  if (!users.length) return <Empty>Every probe in the last 24 h was consistent.</Empty>;
  return (
    <table className="w-full text-left" data-testid="problem-users">
      <TableHead labels={['user', 'target', 'not consistent', 'latest']} right={['not consistent']} />
      <tbody>
        {users.map((u) => (
          <tr key={`${u.target}/${u.userId}`} className={rowClass}>
            <td className="py-1 pr-3">
              <UserLabel userId={u.userId} label={label(u.target, u.userId)} />
            </td>
            <td className="pr-3">{u.target}</td>
            <td className="pr-3 text-right tabular-nums">
              {u.problems} of {u.runs}
            </td>
            <td>
              <TextLink href={`/probes/${u.lastRunId}`}>
                <Badge value={u.lastVerdict} />
              </TextLink>
              <ReasonCode code={u.lastReasonCode} /> <Time value={u.lastAt} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function CanaryTable({
  canaries,
  label,
  now
}: {
  canaries: CanaryFreshness[];
  label: UserLabels;
  now: Date;
}) {
  if (!canaries.length) return <Empty>No canaries are held.</Empty>;
  return (
    <table className="w-full text-left" data-testid="canaries">
      <TableHead
        labels={['canary', 'target', 'verdict', 'last checkpoint', 'freshness', 'agent', 'held for']}
        right={['last checkpoint', 'freshness']}
      />
      <tbody>
        {canaries.map((c) => (
          <tr key={`${c.target}/${c.userId}`} className={rowClass} data-testid={`canary-${c.userId}`}>
            <td className="py-1 pr-3">
              <UserLabel userId={c.userId} label={label(c.target, c.userId)} />
            </td>
            <td className="pr-3">{c.target}</td>
            <td className="pr-3">
              <Badge value={c.verdict} />
              <ReasonCode code={c.reasonCode} />
            </td>
            <td className="pr-3 text-right tabular-nums">
              {c.lastCheckpointAt ? `${ageText(c.lastCheckpointAt, now)} ago` : 'never'}
            </td>
            <td className="pr-3 text-right tabular-nums">
              {c.lastFreshnessSeconds === null ? '—' : `${c.lastFreshnessSeconds.toFixed(2)} s`}
            </td>
            <td className="pr-3 font-mono text-xs">{c.agent}</td>
            <td className="tabular-nums">{ageText(c.heldSince, now)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
