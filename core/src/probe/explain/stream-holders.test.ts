import { loadSyncRules } from '@syncscope/core/sync-rules/load-sync-rules';
import { createTestDatabase } from '@syncscope/core/testing/test-database';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StreamSubscription } from '../../sync-rules/stream-subscriptions.ts';
import { explainRow } from './explain-row.ts';
import type { BucketTrace } from './row-trace.ts';

/** One stream per table, so each row's trace has one stream and one bucket. */
const YAML = `config:
  edition: 2
streams:
  my_records:
    auto_subscribe: true
    query: SELECT * FROM records WHERE workspace_id IN (SELECT workspace_id FROM memberships WHERE user_id = auth.user_id())
  my_items:
    auto_subscribe: true
    query: SELECT * FROM items WHERE workspace_id IN (SELECT workspace_id FROM memberships WHERE user_id = auth.user_id())
  announcements:
    auto_subscribe: true
    query: SELECT * FROM announcements
  archive:
    query: SELECT * FROM archived
  workspace_tasks:
    query: SELECT * FROM tasks WHERE workspace_id = subscription.parameter('workspace_id')
  workspace_notes:
    query: SELECT * FROM notes WHERE workspace_id = subscription.parameter('workspace_id') AND workspace_id IN (SELECT workspace_id FROM memberships WHERE user_id = auth.user_id())
  org_docs:
    auto_subscribe: true
    query: SELECT * FROM docs WHERE org_id = auth.parameter('org')
  own_drafts:
    auto_subscribe: true
    query: SELECT * FROM drafts WHERE owner = auth.user_id()
  admin_logs:
    auto_subscribe: true
    query: SELECT * FROM logs WHERE auth.user_id() IN (SELECT user_id FROM admins)
  shouting:
    auto_subscribe: true
    query: SELECT * FROM shouts WHERE owner = upper(auth.user_id())
  admin_flags:
    auto_subscribe: true
    query: SELECT * FROM flags WHERE auth.parameter('is_admin')
  my_tickets:
    auto_subscribe: true
    query: SELECT * FROM tickets WHERE owner = auth.user_id() OR assignee = auth.user_id()
  active_notes:
    auto_subscribe: true
    query: SELECT * FROM anotes WHERE workspace_id IN (SELECT workspace_id FROM memberships WHERE user_id = auth.user_id()) AND auth.user_id() IN (SELECT user_id FROM active_users)
`;
const lineOf = (text: string) => YAML.split('\n').findIndex((l) => l.includes(text)) + 1;

describe('explain names who holds a sync-stream bucket', () => {
  let url: string;
  let client: pg.Client;
  const rules = loadSyncRules(YAML);
  const bucketOf = async (
    table: string,
    id: string,
    user?: { userId: string; claims?: Record<string, unknown>; subscriptions?: StreamSubscription[] }
  ): Promise<BucketTrace> => {
    const trace = await explainRow({ sourceUrl: url, rules, table, id, ...user });
    expect(trace.queries).toHaveLength(1);
    expect(trace.queries[0]!.buckets).toHaveLength(1);
    return trace.queries[0]!.buckets[0]!;
  };
  const holds = async (
    table: string,
    id: string,
    userId: string,
    more: { claims?: Record<string, unknown>; subscriptions?: StreamSubscription[] } = {}
  ) => (await explainRow({ sourceUrl: url, rules, table, id, userId, ...more })).user!.holdsRow;

  beforeAll(async () => {
    url = await createTestDatabase('probe_explain_stream_holders');
    client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(
      `CREATE TABLE memberships(id text primary key, user_id text, workspace_id text);
       CREATE TABLE records(id text primary key, workspace_id text, title text);
       CREATE TABLE items(id text primary key, workspace_id int4, title text);
       CREATE TABLE announcements(id text primary key, body text);
       CREATE TABLE archived(id text primary key, body text);
       CREATE TABLE tasks(id text primary key, workspace_id text);
       CREATE TABLE notes(id text primary key, workspace_id text);
       CREATE TABLE docs(id text primary key, org_id int4);
       CREATE TABLE drafts(id text primary key, owner text);
       CREATE TABLE admins(id text primary key, user_id text);
       CREATE TABLE logs(id text primary key, line text);
       CREATE TABLE shouts(id text primary key, owner text);
       CREATE TABLE flags(id text primary key, name text);
       CREATE TABLE tickets(id text primary key, owner text, assignee text);
       INSERT INTO memberships VALUES ('m-alice-1', 'u-alice', 'ws-1'), ('m-carol-2', 'u-carol', 'ws-2');
       INSERT INTO memberships VALUES ('m-gina-3', 'u-gina', 'ws-3');
       -- workspace ids are text in memberships but integers in items: '42' vs 42.
       INSERT INTO memberships VALUES ('m-dave-42', 'u-dave', '42');
       INSERT INTO records VALUES ('r1', 'ws-1', 'One'), ('r9', 'ws-9', 'Nobody''s');
       INSERT INTO items VALUES ('i42', 42, 'Answer');
       INSERT INTO announcements VALUES ('a1', 'Hello');
       INSERT INTO archived VALUES ('old1', 'Old');
       INSERT INTO tasks VALUES ('t1', 'ws-1');
       INSERT INTO notes VALUES ('n3', 'ws-3');
       INSERT INTO docs VALUES ('d1', 7);
       INSERT INTO drafts VALUES ('dr1', 'u-erin');
       INSERT INTO admins VALUES ('adm1', 'u-frank');
       INSERT INTO logs VALUES ('l1', 'boot');
       INSERT INTO shouts VALUES ('s1', 'U-ALICE');
       INSERT INTO flags VALUES ('f1', 'beta');
       INSERT INTO tickets VALUES ('tk1', 'u-hank', 'u-ivy');
       -- More active users than explain keeps rows of, quinn (the one member) last.
       CREATE TABLE active_users(id text primary key, user_id text);
       CREATE TABLE anotes(id text primary key, workspace_id text);
       INSERT INTO active_users SELECT 'au-' || i, 'u-active-' || i FROM generate_series(1, 1500) i;
       INSERT INTO active_users VALUES ('au-quinn', 'u-quinn');
       INSERT INTO memberships VALUES ('m-quinn-q', 'u-quinn', 'ws-q');
       INSERT INTO anotes VALUES ('an1', 'ws-q');`
    );
  });
  afterAll(async () => client?.end());

  it('a membership subquery on the user id: exactly the members, with their membership rows as evidence', async () => {
    const first = await bucketOf('records', 'r1');
    expect(first.bucket).toBe('1#my_records|0["ws-1"]');
    expect(first.holders).toMatchObject({
      kind: 'users',
      userIds: ['u-alice'],
      description: 'u-alice',
      parameterRowCount: 1,
      nearMisses: []
    });
    expect(first.holders.parameterRows).toEqual([
      {
        definition: 'my_records',
        query: expect.stringContaining('FROM records'),
        line: lineOf('FROM records'),
        table: 'public.memberships',
        id: 'm-alice-1',
        values: { id: 'm-alice-1', user_id: 'u-alice', workspace_id: 'ws-1' },
        lookup: ['u-alice'],
        produces: { '0': 'ws-1' }
      }
    ]);

    await client.query("INSERT INTO memberships VALUES ('m-bob-1', 'u-bob', 'ws-1')");
    const both = await bucketOf('records', 'r1');
    expect(both.holders).toMatchObject({
      kind: 'users',
      userIds: ['u-alice', 'u-bob'],
      parameterRowCount: 2
    });
    expect(both.holders.description).toBe('u-alice, u-bob');

    await client.query("DELETE FROM memberships WHERE id = 'm-alice-1'");
    const left = await bucketOf('records', 'r1');
    expect(left.holders).toMatchObject({ kind: 'users', userIds: ['u-bob'], description: 'u-bob' });
    expect(left.holders.parameterRows.map((r) => r.id)).toEqual(['m-bob-1']);

    // The library's own resolution agrees: the named holder has the row, a former member does not.
    expect(await holds('records', 'r1', 'u-bob')).toBe(true);
    expect(await holds('records', 'r1', 'u-alice')).toBe(false);
  });

  it('a bucket no membership row gives is held by nobody, and says which row is missing', async () => {
    const b = await bucketOf('records', 'r9');
    expect(b.bucket).toBe('1#my_records|0["ws-9"]');
    expect(b.holders).toMatchObject({ kind: 'nobody', userIds: [], parameterRows: [], parameterRowCount: 0 });
    expect(b.holders.description).toBe(
      `nobody: no memberships row gives workspace_id = text 'ws-9' (my_records, line ${lineOf('FROM records')})`
    );
  });

  it("text '42' in memberships vs integer 42 in items: nobody, with the membership as a near miss", async () => {
    const b = await bucketOf('items', 'i42');
    expect(b.bucket).toBe('1#my_items|0[42]');
    expect(b.holders.kind).toBe('nobody');
    expect(b.holders.nearMisses.map((r) => [r.table, r.id, r.lookup, r.produces])).toEqual([
      ['public.memberships', 'm-dave-42', ['u-dave'], { '0': '42' }]
    ]);
    expect(b.holders.description).toBe(
      `nobody: no memberships row gives workspace_id = integer 42 (my_items, line ${lineOf('FROM items')}); 1 public.memberships row(s) give workspace_id = text '42', which differs from integer 42 only by type`
    );
    expect(await holds('items', 'i42', 'u-dave')).toBe(false);
  });

  it('an auto-subscribed stream without parameters: everyone', async () => {
    const b = await bucketOf('announcements', 'a1');
    expect(b.holders).toMatchObject({ kind: 'everyone', userIds: [], description: 'every user' });
  });

  it('a stream without parameters and without auto_subscribe: the clients that subscribe to it', async () => {
    const b = await bucketOf('archived', 'old1');
    expect(b.holders).toMatchObject({
      kind: 'request',
      userIds: [],
      description: 'any client subscribing to archive'
    });
    const subscribed = [{ stream: 'archive', parameters: null, priority: null }];
    expect(await holds('archived', 'old1', 'u-anyone', { subscriptions: subscribed })).toBe(true);
    expect(await holds('archived', 'old1', 'u-anyone')).toBe(false);
  });

  it('a subscription parameter: any client subscribing to the stream with that value', async () => {
    const b = await bucketOf('tasks', 't1');
    expect(b.holders).toMatchObject({
      kind: 'request',
      userIds: [],
      description: "any client subscribing to workspace_tasks with workspace_id = 'ws-1'"
    });
    const to = (workspace_id: string) => [
      { stream: 'workspace_tasks', parameters: { workspace_id }, priority: null }
    ];
    expect(await holds('tasks', 't1', 'u-anyone', { subscriptions: to('ws-1') })).toBe(true);
    expect(await holds('tasks', 't1', 'u-anyone', { subscriptions: to('ws-2') })).toBe(false);
  });

  it('a subscription parameter and a membership: the members, when they subscribe with that value', async () => {
    const b = await bucketOf('notes', 'n3');
    expect(b.bucket).toBe('1#workspace_notes|0["ws-3","ws-3"]');
    expect(b.holders).toMatchObject({
      kind: 'request',
      userIds: ['u-gina'],
      description: "any client of u-gina subscribing to workspace_notes with workspace_id = 'ws-3'"
    });
    expect(b.holders.parameterRows.map((r) => [r.id, r.produces])).toEqual([['m-gina-3', { '1': 'ws-3' }]]);
    const to = (workspace_id: string) => [
      { stream: 'workspace_notes', parameters: { workspace_id }, priority: null }
    ];
    expect(await holds('notes', 'n3', 'u-gina', { subscriptions: to('ws-3') })).toBe(true);
    expect(await holds('notes', 'n3', 'u-gina', { subscriptions: to('ws-1') })).toBe(false);
    expect(await holds('notes', 'n3', 'u-carol', { subscriptions: to('ws-3') })).toBe(false);
  });

  it('a token claim: any user whose claim has the value', async () => {
    const b = await bucketOf('docs', 'd1');
    expect(b.holders).toMatchObject({
      kind: 'request',
      userIds: [],
      description: "any user whose auth.parameter('org') is 7"
    });
    expect(await holds('docs', 'd1', 'u-anyone', { claims: { org: 7 } })).toBe(true);
    expect(await holds('docs', 'd1', 'u-anyone', { claims: { org: 8 } })).toBe(false);
  });

  it('a column compared with the user id: that user', async () => {
    const b = await bucketOf('drafts', 'dr1');
    expect(b.holders).toMatchObject({ kind: 'users', userIds: ['u-erin'], description: 'u-erin' });
  });

  it('a condition "the user id is in a table": the users it lists', async () => {
    const b = await bucketOf('logs', 'l1');
    expect(b.holders).toMatchObject({ kind: 'users', userIds: ['u-frank'], parameterRowCount: 1 });
    expect(await holds('logs', 'l1', 'u-frank')).toBe(true);
    expect(await holds('logs', 'l1', 'u-alice')).toBe(false);
  });

  it('more rows than it keeps, combining to none: unknown, never a wrong "nobody"', async () => {
    const b = await bucketOf('anotes', 'an1');
    expect(b.holders.kind).toBe('unknown');
    expect(b.holders.description).toContain('more than 1,000 rows');
    expect(await holds('anotes', 'an1', 'u-quinn')).toBe(true);
  });

  it('a parameter read through an expression is not guessed: unknown, saying why', async () => {
    const b = await bucketOf('shouts', 's1');
    expect(b.holders).toMatchObject({ kind: 'unknown', userIds: [] });
    expect(b.holders.description).toBe(
      `not traced: in stream shouting (line ${lineOf('FROM shouts')}), bucket parameter 0 is an expression of request values (or a list of them), which explain does not invert; probe a user to see whether they hold it`
    );
  });

  it('a condition on token values alone is kept as a condition, not decided', async () => {
    const b = await bucketOf('flags', 'f1');
    expect(b.holders).toMatchObject({
      kind: 'request',
      userIds: [],
      description:
        "any user for whom the conditions on request values in WHERE auth.parameter('is_admin') hold"
    });
  });

  it('a stream with OR: each bucket is held through its own branch', async () => {
    const trace = await explainRow({ sourceUrl: url, rules, table: 'tickets', id: 'tk1' });
    expect(
      trace.queries.flatMap((q) => q.buckets.map((b) => [b.bucket, b.holders.kind, b.holders.userIds]))
    ).toEqual([
      ['1#my_tickets|0["u-hank"]', 'users', ['u-hank']],
      ['1#my_tickets|1["u-ivy"]', 'users', ['u-ivy']]
    ]);
  });
});

describe('explain on streams built by the edition-3 compiler', () => {
  const rules = loadSyncRules(`config:
  edition: 3
streams:
  my_records:
    auto_subscribe: true
    query: SELECT * FROM records WHERE workspace_id IN (SELECT workspace_id FROM memberships WHERE user_id = auth.user_id())
`);
  let url: string;
  beforeAll(async () => {
    url = await createTestDatabase('probe_explain_stream_holders_e3');
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(
      `CREATE TABLE memberships(id text primary key, user_id text, workspace_id text);
       CREATE TABLE records(id text primary key, workspace_id text);
       INSERT INTO memberships VALUES ('m1', 'u-alice', 'ws-1');
       INSERT INTO records VALUES ('r1', 'ws-1');`
    );
    await client.end();
  });

  it('does not invert them: unknown, saying so', async () => {
    const trace = await explainRow({ sourceUrl: url, rules, table: 'records', id: 'r1' });
    expect(trace.queries[0]!.buckets[0]!.holders).toMatchObject({
      kind: 'unknown',
      userIds: [],
      description:
        'not traced: stream my_records is not an edition-2 sync stream, the kind explain inverts; probe a user to see whether they hold it'
    });
  });
});
