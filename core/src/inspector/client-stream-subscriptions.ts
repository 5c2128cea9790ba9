/**
 * The sync-stream subscriptions a PowerSync client keeps in its own database, and what the client does
 * with each the next time it connects. The core extension (powersync-sqlite-core 0.5, bundled with
 * `@powersync/node`; `sync/subscriptions.rs`, `sync/storage_adapter.rs`) keeps one row per stream and
 * parameters in `ps_stream_subscriptions`:
 *
 *   id, stream_name, active (the service listed it in the last checkpoint), is_default (auto_subscribe),
 *   local_priority, local_params (JSON text, 'null' without parameters), ttl (seconds; set by
 *   `subscribe({ttl})`, one day by default, NULL after `unsubscribeAll()` and for default streams),
 *   expires_at (now + ttl, pushed forward while an app holds the subscription), last_synced_at
 *
 * Before each sync request the extension deletes rows whose `expires_at` has passed (and rows without a
 * TTL the service no longer lists), then requests every row with a TTL, in id order; default streams
 * come from the service itself (`include_defaults`). So, at a given moment:
 *
 *   row                        status         in the client's next request
 *   expires_at < now           expired        no (deleted; its buckets go at the next checkpoint)
 *   ttl set                    requested      yes
 *   ttl NULL, is_default       default        no need: the service syncs default streams anyway
 *   ttl NULL, not default      unsubscribed   no (`unsubscribeAll()`)
 *
 * Times are microseconds since the epoch from the extension's migration 13 on, seconds before it.
 */
import type { BucketPriority } from '@powersync/service-sync-rules';
import type Database from 'better-sqlite3';
import { SyncScopeError } from '../errors/index.ts';
import type { StreamSubscription } from '../sync-rules/stream-subscriptions.ts';
import { tableExists } from './open-client-database.ts';

export type ClientSubscriptionStatus = 'requested' | 'expired' | 'default' | 'unsubscribed';

export interface ClientStreamSubscription extends StreamSubscription {
  /** The row's id: the order of the client's request. */
  id: number;
  status: ClientSubscriptionStatus;
  isDefault: boolean;
  /** The service listed the stream in the client's last checkpoint. */
  active: boolean;
  ttlSeconds: number | null;
  expiresAt: string | null;
  lastSyncedAt: string | null;
}

interface SubscriptionRow {
  id: number;
  stream_name: string;
  active: number;
  is_default: number;
  local_priority: number | null;
  local_params: string;
  ttl: number | null;
  expires_at: number | null;
  last_synced_at: number | null;
}

/** The extension migration from which ps_stream_subscriptions keeps microseconds instead of seconds. */
const MICROSECONDS_FROM_MIGRATION = 13;

export function subscriptionStatus(
  row: { ttlSeconds: number | null; expiresAtMs: number | null; isDefault: boolean },
  nowMs: number
): ClientSubscriptionStatus {
  if (row.expiresAtMs !== null && row.expiresAtMs < nowMs) return 'expired';
  if (row.ttlSeconds !== null) return 'requested';
  return row.isDefault ? 'default' : 'unsubscribed';
}

function parameters(row: SubscriptionRow): Record<string, unknown> | null {
  let value: unknown;
  try {
    value = JSON.parse(row.local_params);
  } catch {
    value = undefined;
  }
  if (value === null || (typeof value === 'object' && !Array.isArray(value)))
    return value as Record<string, unknown> | null;
  throw new SyncScopeError(
    'SYNCSCOPE_E_INSPECT_NOT_POWERSYNC',
    `ps_stream_subscriptions row ${row.id} has parameters that are not a JSON object (${row.local_params.slice(0, 80)}): the PowerSync SDK never writes that; export the database the app itself opened, unedited.`
  );
}

function priority(value: number | null): BucketPriority | null {
  return value === 0 || value === 1 || value === 2 || value === 3 ? value : null;
}

/**
 * The client's stream subscriptions and their status at `now` (when it would next connect), in id
 * order; none when the database predates sync streams (no ps_stream_subscriptions).
 */
export function readClientStreamSubscriptions(db: Database.Database, now: Date): ClientStreamSubscription[] {
  if (!tableExists(db, 'ps_stream_subscriptions')) return [];
  const migration = db.prepare('SELECT max(id) AS id FROM ps_migration').get() as { id: number | null };
  const toMs = (migration.id ?? 0) >= MICROSECONDS_FROM_MIGRATION ? 1 / 1000 : 1000;
  const time = (value: number | null) => (value === null ? null : value * toMs);
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  const rows = db.prepare('SELECT * FROM ps_stream_subscriptions ORDER BY id').all() as SubscriptionRow[];
  return rows.map((row) => {
    const isDefault = row.is_default !== 0;
    const expiresAtMs = time(row.expires_at);
    return {
      id: row.id,
      stream: row.stream_name,
      parameters: parameters(row),
      priority: priority(row.local_priority),
      status: subscriptionStatus({ ttlSeconds: row.ttl, expiresAtMs, isDefault }, now.getTime()),
      isDefault,
      active: row.active !== 0,
      ttlSeconds: row.ttl,
      expiresAt: iso(expiresAtMs),
      lastSyncedAt: iso(time(row.last_synced_at))
    };
  });
}

/** The explicit subscriptions the client requests when it next connects, in its order. */
export function requestedSubscriptions(subscriptions: ClientStreamSubscription[]): StreamSubscription[] {
  return subscriptions
    .filter((s) => s.status === 'requested')
    .map(({ stream, parameters, priority }) => ({ stream, parameters, priority }));
}

/** What the client does with a subscription, in words: "requested, expires … (TTL 86400 s)". */
export function describeClientSubscription(s: ClientStreamSubscription): string {
  const ttl = s.ttlSeconds === null ? '' : ` (TTL ${s.ttlSeconds} s)`;
  switch (s.status) {
    case 'requested':
      return `requested, expires ${s.expiresAt ?? 'never'}${ttl} unless the app keeps it subscribed`;
    case 'expired':
      return `expired ${s.expiresAt}${ttl}: not requested any more, its buckets go when the client next connects`;
    case 'default':
      return 'default stream: the service syncs it without a subscription';
    case 'unsubscribed':
      return 'unsubscribed (unsubscribeAll): not requested any more';
  }
}
