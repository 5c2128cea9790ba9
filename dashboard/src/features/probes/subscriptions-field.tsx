'use client';
import type { RulesStream } from '@syncscope/core/sync-rules/stream-subscriptions';
import { useEffect, useState } from 'react';
import { inputClass, Mono } from '@/ui/primitives';

/** The target's sync streams (null while loading or when its rules cannot be read). */
function useTargetStreams(target: string): RulesStream[] | null {
  const [loaded, setLoaded] = useState<{ target: string; streams: RulesStream[] } | null>(null);
  useEffect(() => {
    if (!target) return;
    const controller = new AbortController();
    fetch(`/api/targets/${encodeURIComponent(target)}/streams`, { signal: controller.signal })
      .then(async (response) => {
        if (response.ok) setLoaded({ target, ...((await response.json()) as { streams: RulesStream[] }) });
      })
      .catch(() => {});
    return () => controller.abort();
  }, [target]);
  return loaded?.target === target ? loaded.streams : null;
}

function StreamHints({ target, streams }: { target: string; streams: RulesStream[] | null }) {
  if (streams === null) return null;
  if (streams.length === 0)
    return (
      <p className="text-xs text-zinc-500" data-testid="stream-hints">
        The rules of {target} define no sync streams: their bucket definitions sync without subscriptions.
      </p>
    );
  return (
    <p className="text-xs text-zinc-500" data-testid="stream-hints">
      Streams in the rules of {target}:{' '}
      {streams.map((s, i) => (
        <span key={s.name}>
          {i > 0 ? ', ' : ''}
          <Mono>{s.name}</Mono>
          {s.autoSubscribe ? ' (auto-subscribed: synced without a line)' : ''}
        </span>
      ))}
    </p>
  );
}

/**
 * The sync streams the probe's client subscribes to, as an app's screens do with
 * `db.syncStream(name, params).subscribe()`: one per line, checked by the server against the rules.
 */
export function SubscriptionsField({ target, initial }: { target: string; initial?: string }) {
  const streams = useTargetStreams(target);
  return (
    <div className="grid gap-1">
      <label className="grid gap-1">
        <span className="text-xs text-zinc-500">
          Stream subscriptions (optional, one per line: NAME, NAME=JSON or NAME@PRIORITY=JSON)
        </span>
        <textarea
          name="subscriptions"
          defaultValue={initial}
          rows={3}
          spellCheck={false}
          className={`${inputClass} font-mono`}
          placeholder='list_todos={"list_id": "l1"}'
        />
      </label>
      <StreamHints target={target} streams={streams} />
    </div>
  );
}
