import type { Metadata } from 'next';
import { notFound } from 'next/navigation';
import { requirePage } from '@/features/auth/guard.server';
import { OperationData } from '@/features/upload-errors/upload-error-views';
import {
  getErrorGroup,
  groupAudience,
  groupOccurrences
} from '@/features/upload-errors/upload-errors.server';
import { Badge, Card, Mono, PageHeader, Pager, rowClass, TableHead, TextLink, Time } from '@/ui/primitives';

export const metadata: Metadata = { title: 'Upload error' };
const PAGE = 50;

export default async function ErrorGroupPage({
  params,
  searchParams
}: {
  params: Promise<{ group: string }>;
  searchParams: Promise<{ offset?: string }>;
}) {
  const access = await requirePage('/uploads/[group]');
  const group = await getErrorGroup((await params).group);
  if (!group) notFound();
  access.requireTarget(group.target);
  const offset = Math.max(0, Number((await searchParams).offset) || 0);
  const [occurrences, audience] = await Promise.all([
    groupOccurrences(group.id, offset, PAGE),
    groupAudience(group.id)
  ]);
  const t = encodeURIComponent(group.target);
  return (
    <>
      <PageHeader title={`${group.tableName}: ${group.detailPattern}`} />
      <p className="mb-4 flex flex-wrap items-center gap-3 text-xs text-zinc-500">
        <Badge value={group.retryable ? 'retryable' : 'final'} /> {group.target} ·{' '}
        {group.occurrences.toLocaleString('en')} occurrences · first <Time value={group.firstSeen} /> · last{' '}
        <Time value={group.lastSeen} />
      </p>
      <div className="mb-4 grid gap-4 md:grid-cols-2">
        <Card title="Affected users (latest 10,000)">
          <ul className="space-y-0.5 text-xs" data-testid="affected-users">
            {audience.users.map((u) => (
              <li key={u.id}>
                <TextLink href={`/probe?target=${t}&user=${encodeURIComponent(u.id)}`}>
                  <Mono nowrap>{u.id}</Mono>
                </TextLink>{' '}
                ×{u.n}
              </li>
            ))}
          </ul>
        </Card>
        <Card title="Clients">
          <ul className="space-y-0.5 text-xs">
            {audience.clients.map((c) => (
              <li key={c.id}>
                <Mono nowrap>{c.id}</Mono> ×{c.n}
              </li>
            ))}
          </ul>
        </Card>
      </div>
      <Card title="Occurrences">
        <table className="w-full text-left text-xs" data-testid="occurrences">
          <TableHead labels={['When', 'User / client', 'Operation', 'Detail', 'Data']} />
          <tbody>
            {occurrences.map((o) => (
              <tr key={o.id} className={rowClass}>
                <td className="py-1 pr-3">
                  <Time value={o.occurredAt} />
                </td>
                <td className="pr-3">
                  <Mono nowrap>{o.userId}</Mono>
                  <br />
                  <span className="text-zinc-500">{o.clientId ?? 'client unknown'}</span>
                </td>
                <td className="pr-3">
                  {o.op}{' '}
                  {o.rowId ? (
                    <TextLink
                      href={`/trace?target=${t}&table=${encodeURIComponent(group.tableName)}&id=${encodeURIComponent(o.rowId)}&user=${encodeURIComponent(o.userId)}`}
                    >
                      <Mono>{o.rowId}</Mono>
                    </TextLink>
                  ) : null}
                  {o.code ? <div className="font-mono text-zinc-500">{o.code}</div> : null}
                </td>
                <td className="pr-3">{o.detail}</td>
                <td>
                  <OperationData data={o.data} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <Pager
          basePath={`/uploads/${group.id}`}
          params={{}}
          offset={offset}
          limit={PAGE}
          total={group.occurrences}
        />
      </Card>
    </>
  );
}
