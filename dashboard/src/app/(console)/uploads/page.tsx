import type { Metadata } from 'next';
import Link from 'next/link';
import { requirePage } from '@/features/auth/guard.server';
import { Sparkline } from '@/features/upload-errors/upload-error-views';
import { listErrorGroups, listStuckQueues } from '@/features/upload-errors/upload-errors.server';
import { listTargets } from '@/server/targets';
import {
  Badge,
  buttonClass,
  Card,
  Empty,
  inputClass,
  Mono,
  PageHeader,
  rowClass,
  TableHead,
  TextLink,
  Time
} from '@/ui/primitives';

export const metadata: Metadata = { title: 'Upload errors' };

export default async function UploadErrorsPage({
  searchParams
}: {
  searchParams: Promise<{ target?: string; retryable?: string }>;
}) {
  const access = await requirePage('/uploads');
  const filters = await searchParams;
  if (filters.target) access.requireTarget(filters.target);
  const [groups, stuck, targets] = await Promise.all([
    listErrorGroups({ ...filters, scope: access.scope }),
    listStuckQueues(access.scope),
    listTargets().then(access.allowed)
  ]);
  return (
    <>
      <PageHeader title="Upload errors" />
      <Card title={`Stuck upload queues (${stuck.length})`} className="mb-4">
        {stuck.length ? (
          <table className="w-full text-left text-xs" data-testid="stuck-queues">
            <TableHead
              labels={['Client', 'User', 'Operation at the head', 'Failures', 'Since', 'Last error']}
              right={['Failures']}
            />
            <tbody>
              {stuck.map((s) => (
                <tr key={`${s.target}/${s.clientId}/${s.tableName}/${s.rowId}/${s.op}`} className={rowClass}>
                  <td className="py-1 pr-3">
                    <Mono nowrap>{s.clientId}</Mono>
                  </td>
                  <td className="pr-3">
                    <TextLink
                      href={`/probe?target=${encodeURIComponent(s.target)}&user=${encodeURIComponent(s.userId)}`}
                    >
                      <Mono nowrap>{s.userId}</Mono>
                    </TextLink>
                  </td>
                  <td className="pr-3">
                    {s.op}{' '}
                    <TextLink
                      href={`/trace?target=${encodeURIComponent(s.target)}&table=${encodeURIComponent(s.tableName)}&id=${encodeURIComponent(s.rowId)}&user=${encodeURIComponent(s.userId)}`}
                    >
                      <Mono>
                        {s.tableName}/{s.rowId}
                      </Mono>
                    </TextLink>
                  </td>
                  <td className="pr-3 text-right tabular-nums">{s.failures}</td>
                  <td className="pr-3">
                    <Time value={s.firstFailedAt} />
                  </td>
                  <td>
                    <Badge value={s.lastRetryable ? 'retryable' : 'final'} /> {s.lastDetail}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <Empty>No client keeps failing on the same operation.</Empty>
        )}
      </Card>
      <form className="mb-3 flex items-end gap-2 text-xs" aria-label="filters">
        <select name="target" defaultValue={filters.target ?? ''} className={inputClass} aria-label="target">
          <option value="">all targets</option>
          {targets.map((t) => (
            <option key={t}>{t}</option>
          ))}
        </select>
        <select
          name="retryable"
          defaultValue={filters.retryable ?? ''}
          className={inputClass}
          aria-label="retryable"
        >
          <option value="">retryable and final</option>
          <option value="retryable">retryable</option>
          <option value="final">final</option>
        </select>
        <button type="submit" className={buttonClass}>
          Filter
        </button>
      </form>
      {groups.length ? (
        <table className="w-full text-left" data-testid="error-groups">
          <TableHead
            labels={['Target', 'Table', 'Error', 'Kind', 'Count', 'Last 24 h', 'Last seen']}
            right={['Count']}
          />
          <tbody>
            {groups.map((g) => (
              <tr key={g.id} className={rowClass}>
                <td className="py-1 pr-3">{g.target}</td>
                <td className="pr-3">
                  <Mono>{g.tableName}</Mono>
                </td>
                <td className="pr-3">
                  <Link href={`/uploads/${g.id}`} className="text-sky-700 hover:underline dark:text-sky-400">
                    {g.detailPattern}
                  </Link>
                  {g.exampleCode ? (
                    <span className="ml-2 font-mono text-xs text-zinc-500">{g.exampleCode}</span>
                  ) : null}
                </td>
                <td className="pr-3">
                  <Badge value={g.retryable ? 'retryable' : 'final'} />
                </td>
                <td className="pr-3 text-right tabular-nums">{g.occurrences.toLocaleString('en')}</td>
                <td className="pr-3">
                  <Sparkline values={g.hourly} />
                </td>
                <td className="text-xs">
                  <Time value={g.lastSeen} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <Empty>
          No upload errors reported. Backends report with the SyncScope reporter and an ingest key.
        </Empty>
      )}
    </>
  );
}
