import type { StreamSubscription } from '@syncscope/core/sync-rules/stream-subscriptions';
import { formatSubscription } from '@syncscope/core/sync-rules/subscription-text';
import { Mono } from '@/ui/primitives';

/** A probe's stream subscriptions as the form takes them (`NAME@PRIORITY=JSON`), one per line. */
export function SubscriptionList({
  subscriptions,
  none
}: {
  subscriptions: StreamSubscription[];
  none: string;
}) {
  if (subscriptions.length === 0) return <span className="text-zinc-500">{none}</span>;
  return (
    <ul>
      {subscriptions.map((s) => {
        const text = formatSubscription(s);
        return (
          <li key={text}>
            <Mono>{text}</Mono>
          </li>
        );
      })}
    </ul>
  );
}
