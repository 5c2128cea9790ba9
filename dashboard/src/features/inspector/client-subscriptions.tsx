import {
  type ClientStreamSubscription,
  describeClientSubscription
} from '@syncscope/core/inspector/client-stream-subscriptions';
import { formatSubscription } from '@syncscope/core/sync-rules/subscription-text';
import { Card, Empty, Mono, TableHead, Time } from '@/ui/primitives';

/** The sync-stream subscriptions an inspected client keeps, and what it does with each when it next connects. */
export function ClientSubscriptions({
  subscriptions,
  at
}: {
  subscriptions: ClientStreamSubscription[];
  at: string;
}) {
  return (
    <Card title={`Stream subscriptions (${subscriptions.length})`} className="mb-4">
      {subscriptions.length ? (
        <>
          <table className="w-full text-left text-xs" data-testid="client-subscriptions">
            <TableHead labels={['Subscription', 'Status', 'Last synced']} />
            <tbody>
              {subscriptions.map((s) => (
                <tr key={s.id} className={s.status === 'expired' ? 'text-rose-700 dark:text-rose-400' : ''}>
                  <td className="pr-3">
                    <Mono>{formatSubscription(s)}</Mono>
                  </td>
                  <td className="pr-3">{describeClientSubscription(s)}</td>
                  <td>
                    <Time value={s.lastSyncedAt} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <p className="mt-2 text-xs text-zinc-500">
            Statuses as of <Time value={at} />: the comparison below expects the requested ones (and the
            default streams), as the client requests them when it next connects.
          </p>
        </>
      ) : (
        <Empty>
          No sync-stream subscriptions: the client syncs its default streams and bucket definitions.
        </Empty>
      )}
    </Card>
  );
}
