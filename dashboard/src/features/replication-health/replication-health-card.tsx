import { formatBytes } from '@syncscope/core/replication-health/format-bytes';
import type {
  FindingSeverity,
  ReplicationHealth,
  SlotHealth
} from '@syncscope/core/replication-health/replication-health-types';
import { Card, Empty, Mono, rowClass, TableHead, Time } from '@/ui/primitives';
import { replicationHealthOf } from './replication-health.server';

/** A reading older than this many polls' worth is shown as stale: no agent is watching the target. */
const STALE_AFTER_MS = 5 * 60_000;

const ROLE_LABEL: Record<SlotHealth['role'], string> = {
  active: 'active rules',
  deploying: 'deploying rules',
  abandoned: 'left behind',
  unknown: 'unknown'
};
const ROLE_STYLE: Record<SlotHealth['role'], string> = {
  active: 'bg-emerald-100 text-emerald-900 dark:bg-emerald-900/40 dark:text-emerald-200',
  deploying: 'bg-sky-100 text-sky-900 dark:bg-sky-900/40 dark:text-sky-200',
  abandoned: 'bg-rose-100 text-rose-900 dark:bg-rose-900/40 dark:text-rose-200',
  unknown: 'bg-zinc-100 text-zinc-700 dark:bg-zinc-800 dark:text-zinc-300'
};
const SEVERITY_STYLE: Record<FindingSeverity, string> = {
  critical: 'text-rose-700 dark:text-rose-400',
  warning: 'text-amber-700 dark:text-amber-400',
  info: 'text-zinc-600 dark:text-zinc-400'
};

const bytes = (value: number | null) => (value === null ? '—' : formatBytes(value));

function SlotRows({ health }: { health: ReplicationHealth }) {
  return (
    <table className="w-full text-left text-sm">
      <TableHead
        labels={['slot', 'used by', 'active', 'wal_status', 'retained WAL', 'flush lag', 'safe WAL size']}
        right={['retained WAL', 'flush lag', 'safe WAL size']}
      />
      <tbody>
        {health.slots.map((s) => (
          <tr key={s.slot} className={rowClass} data-testid={`slot-${s.slot}`}>
            <td className="py-0.5 pr-3">
              <Mono nowrap>{s.slot}</Mono>
            </td>
            <td className="pr-3">
              <span className={`rounded px-1.5 py-0.5 text-xs font-medium ${ROLE_STYLE[s.role]}`}>
                {ROLE_LABEL[s.role]}
              </span>
            </td>
            <td className="pr-3">{s.active ? 'yes' : 'no'}</td>
            <td className="pr-3">{s.walStatus ?? '—'}</td>
            <td className="pr-3 text-right tabular-nums">{bytes(s.retainedWalBytes)}</td>
            <td className="pr-3 text-right tabular-nums">{bytes(s.confirmedFlushLagBytes)}</td>
            <td className="pr-3 text-right tabular-nums">{bytes(s.safeWalSizeBytes)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function TargetHealth({ health }: { health: ReplicationHealth }) {
  const stale = Date.now() - Date.parse(health.observedAt) > STALE_AFTER_MS;
  const lag = health.service?.active?.replicationLagBytes ?? null;
  return (
    <div className="mb-3 last:mb-0" data-testid={`replication-health-${health.target}`}>
      <p className="mb-1 flex flex-wrap gap-x-4 text-xs text-zinc-500">
        <span className="font-semibold text-zinc-700 dark:text-zinc-300">{health.target}</span>
        <span>
          read <Time value={health.observedAt} />
          {stale ? (
            <span className="text-amber-700 dark:text-amber-400"> (stale: no agent reading it)</span>
          ) : null}
        </span>
        <span>retained WAL {formatBytes(health.retainedWalBytes)}</span>
        {health.walBudgetBytes !== null ? <span>budget {formatBytes(health.walBudgetBytes)}</span> : null}
        {lag !== null ? <span>service lag {formatBytes(lag)}</span> : null}
        {health.lastCheckpointAgeSeconds !== null ? (
          <span>last checkpoint {Math.round(health.lastCheckpointAgeSeconds)} s ago</span>
        ) : null}
      </p>
      {health.slots.length ? (
        <SlotRows health={health} />
      ) : (
        <p className="text-zinc-500">No service slots.</p>
      )}
      <ul className="mt-1" data-testid={`replication-findings-${health.target}`}>
        {health.findings.map((f) => (
          <li key={`${f.kind}-${f.slot ?? ''}`} className={SEVERITY_STYLE[f.severity]}>
            {f.message}
          </li>
        ))}
      </ul>
    </div>
  );
}

/** Replication health of the targets in `scope`, from the agents' latest readings. */
export async function ReplicationHealthCard({ scope }: { scope: string[] | null }) {
  const readings = await replicationHealthOf(scope);
  return (
    <Card title="Replication health" className="mb-4">
      {readings.length ? (
        readings.map((h) => <TargetHealth key={h.target} health={h} />)
      ) : (
        <Empty>No agent has read any target's replication yet.</Empty>
      )}
    </Card>
  );
}
