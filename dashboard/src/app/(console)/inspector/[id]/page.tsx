import type { Metadata } from 'next';
import { notFound } from 'next/navigation';
import { requirePage } from '@/features/auth/guard.server';
import { ClientSubscriptions } from '@/features/inspector/client-subscriptions';
import { DeleteInspectionButton } from '@/features/inspector/delete-button';
import { inspect } from '@/features/inspector/inspection.server';
import { getInspectedDatabase } from '@/features/inspector/inspector-store.server';
import { OperationData } from '@/features/upload-errors/upload-error-views';
import { Badge, Card, Empty, ErrorBox, Mono, PageHeader, TableHead, TextLink, Time } from '@/ui/primitives';

export const metadata: Metadata = { title: 'Inspected database' };

export default async function InspectionPage({ params }: { params: Promise<{ id: string }> }) {
  const access = await requirePage('/inspector/[id]');
  const record = await getInspectedDatabase((await params).id);
  if (!record) notFound();
  access.requireTarget(record.target);
  const { inspection, comparison, headFailures } = await inspect(record);
  const { queue } = inspection;
  return (
    <>
      <PageHeader title={record.originalName}>
        <DeleteInspectionButton id={record.id} />
      </PageHeader>
      <p className="mb-4 text-xs text-zinc-500">
        {(record.sizeBytes / 1024).toFixed(0)} KiB · uploaded by {record.uploadedBy} · client{' '}
        <Mono nowrap>{inspection.clientId ?? 'unknown'}</Mono> · deleted at <Time value={record.expiresAt} />
      </p>
      <Card
        title={`Upload queue: ${queue.operations} operations in ${queue.transactions.length} transactions, ${queue.bytes.toLocaleString('en')} bytes`}
        className="mb-4"
      >
        {queue.head ? (
          <p className="mb-2" data-testid="queue-head">
            Head of the queue (uploads wait behind it): <b>{queue.head.op}</b>{' '}
            <Mono>
              {queue.head.table}/{queue.head.rowId}
            </Mono>
            {headFailures ? (
              <span className="ml-2 text-rose-700 dark:text-rose-400">
                failing for the backend {headFailures.failures}× since{' '}
                <Time value={headFailures.firstFailedAt} /> (
                <TextLink href={`/uploads/${headFailures.groupId}`}>{headFailures.lastDetail}</TextLink>)
              </span>
            ) : null}
          </p>
        ) : (
          <Empty>The upload queue is empty: every local write was uploaded.</Empty>
        )}
        {queue.transactions.length ? (
          <table className="w-full text-left text-xs" data-testid="upload-queue">
            <TableHead labels={['#', 'Transaction', 'Operation', 'Row', 'Bytes', 'Data']} right={['Bytes']} />
            <tbody>
              {queue.transactions.flatMap((tx) =>
                tx.operations.map((op, i) => (
                  <tr
                    key={op.id}
                    className={`align-top ${i === 0 ? 'border-t border-zinc-200 dark:border-zinc-800' : ''}`}
                  >
                    <td className="pr-3 tabular-nums">{op.id}</td>
                    <td className="pr-3">
                      {i === 0 ? `tx ${tx.txId ?? '—'} (${tx.operations.length} ops)` : ''}
                    </td>
                    <td className="pr-3">{op.op}</td>
                    <td className="pr-3">
                      <Mono>
                        {op.table}/{op.rowId}
                      </Mono>
                    </td>
                    <td className="pr-3 text-right tabular-nums">{op.bytes}</td>
                    <td>
                      <OperationData data={op.data} />
                    </td>
                  </tr>
                ))
              )}
            </tbody>
          </table>
        ) : null}
      </Card>
      <div className="mb-4 grid gap-4 md:grid-cols-2">
        <Card
          title={`Buckets (${inspection.buckets.length}) · op log ${inspection.opLog.operations} ops, last op ${inspection.opLog.maxOpId ?? '—'}`}
        >
          <table className="w-full text-left text-xs" data-testid="client-buckets">
            <TableHead
              labels={['Bucket', 'Last op', 'Applied', 'Ops']}
              right={['Last op', 'Applied', 'Ops']}
            />
            <tbody className="tabular-nums">
              {inspection.buckets.map((b) => (
                <tr key={b.name}>
                  <td className="pr-3 font-mono">{b.name}</td>
                  <td className="pr-3 text-right">{b.lastOp}</td>
                  <td className="pr-3 text-right">{b.lastAppliedOp}</td>
                  <td className="text-right">{b.ops}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Card>
        <Card title="Client state (ps_kv)">
          <table className="text-left text-xs">
            <tbody>
              {Object.entries(inspection.state).map(([k, v]) => (
                <tr key={k}>
                  <td className="pr-3 font-mono text-zinc-500">{k}</td>
                  <td className="font-mono break-all">{v ?? 'NULL'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Card>
      </div>
      <ClientSubscriptions subscriptions={inspection.streamSubscriptions} at={inspection.inspectedAt} />
      <Card title="Against the source">
        {comparison === null ? (
          <Empty>Give a target and the user when uploading to compare the synced rows with the source.</Empty>
        ) : 'error' in comparison ? (
          <ErrorBox>{comparison.error}</ErrorBox>
        ) : (
          <div data-testid="inspection-comparison">
            <p className="mb-2">
              <Badge value={comparison.verdict} /> {comparison.summary}
            </p>
            <ul className="space-y-1 text-xs">
              {comparison.notes.map((note) => (
                <li key={note}>{note}</li>
              ))}
              {comparison.buckets.differences.map((d) => (
                <li key={d.bucket}>{d.explanation}</li>
              ))}
              {comparison.rows.differences.slice(0, 100).map((d) => (
                <li key={`${d.kind}/${d.table}/${d.id}`}>
                  <b>{d.kind}</b> {d.explanation}
                </li>
              ))}
            </ul>
          </div>
        )}
      </Card>
    </>
  );
}
