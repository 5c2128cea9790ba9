import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import {
  readClientStreamSubscriptions,
  requestedSubscriptions,
  subscriptionStatus
} from './client-stream-subscriptions.ts';

const NOW = Date.parse('2026-06-01T12:00:00Z');

describe("a client's stream subscriptions, as the client treats them when it next connects", () => {
  it.each([
    // ttlSeconds, expires (ms from now), isDefault → status
    [86_400, 60_000, false, 'requested'],
    [86_400, -1, false, 'expired'],
    [1, -1, true, 'expired'], // an explicit subscription to a default stream that ran out
    [60, 60_000, true, 'requested'],
    [null, null, true, 'default'],
    [null, 60_000, false, 'unsubscribed'], // unsubscribeAll() clears the TTL, the expiry stays
    [null, -1, true, 'expired']
  ] as const)('ttl %s, expires in %s ms, default %s: %s', (ttlSeconds, expiresIn, isDefault, status) => {
    const expiresAtMs = expiresIn === null ? null : NOW + expiresIn;
    expect(subscriptionStatus({ ttlSeconds, expiresAtMs, isDefault }, NOW)).toBe(status);
  });

  // The extension's table (migration 11); migration 13 turned its seconds into microseconds.
  const database = (migration: number, unit: number) => {
    const db = new Database(':memory:');
    db.exec(`CREATE TABLE ps_migration (id INTEGER PRIMARY KEY, down_migrations TEXT);
      CREATE TABLE ps_stream_subscriptions (id INTEGER NOT NULL PRIMARY KEY, stream_name TEXT NOT NULL,
        active INTEGER NOT NULL DEFAULT FALSE, is_default INTEGER NOT NULL DEFAULT FALSE, local_priority INTEGER,
        local_params TEXT NOT NULL DEFAULT 'null', ttl INTEGER, expires_at INTEGER, last_synced_at INTEGER,
        UNIQUE (stream_name, local_params)) STRICT;`);
    db.prepare('INSERT INTO ps_migration (id) VALUES (?)').run(migration);
    const at = (ms: number) => Math.round((ms / 1000) * unit);
    const insert = db.prepare(
      'INSERT INTO ps_stream_subscriptions (stream_name, active, is_default, local_priority, local_params, ttl, expires_at, last_synced_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'
    );
    insert.run('list_todos', 1, 0, 1, '{"list_id":"l1"}', 3600, at(NOW + 60_000), at(NOW - 1_000));
    insert.run('list_todos', 1, 0, null, '{"list_id":"l2"}', 3600, at(NOW - 60_000), at(NOW - 1_000));
    insert.run('my_lists', 1, 1, null, 'null', null, null, null);
    return db;
  };

  it.each([
    ['seconds (before migration 13)', 11, 1],
    ['microseconds (migration 13 on)', 14, 1_000_000]
  ])('reads times in %s', (_, migration, unit) => {
    const db = database(migration, unit);
    const subscriptions = readClientStreamSubscriptions(db, new Date(NOW));
    expect(subscriptions).toEqual([
      {
        id: 1,
        stream: 'list_todos',
        parameters: { list_id: 'l1' },
        priority: 1,
        status: 'requested',
        isDefault: false,
        active: true,
        ttlSeconds: 3600,
        expiresAt: '2026-06-01T12:01:00.000Z',
        lastSyncedAt: '2026-06-01T11:59:59.000Z'
      },
      expect.objectContaining({ id: 2, parameters: { list_id: 'l2' }, status: 'expired' }),
      expect.objectContaining({
        id: 3,
        stream: 'my_lists',
        parameters: null,
        status: 'default',
        expiresAt: null
      })
    ]);
    expect(requestedSubscriptions(subscriptions)).toEqual([
      { stream: 'list_todos', parameters: { list_id: 'l1' }, priority: 1 }
    ]);
  });

  it('a database from before sync streams has none', () => {
    expect(readClientStreamSubscriptions(new Database(':memory:'), new Date(NOW))).toEqual([]);
  });

  it('refuses parameters the SDK never writes, naming the row', () => {
    const db = database(14, 1_000_000);
    db.prepare("UPDATE ps_stream_subscriptions SET local_params = '[1]' WHERE id = 2").run();
    expect(() => readClientStreamSubscriptions(db, new Date(NOW))).toThrow(
      /^ps_stream_subscriptions row 2 has parameters that are not a JSON object \(\[1\]\)/
    );
  });
});
