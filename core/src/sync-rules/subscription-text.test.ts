import { describe, expect, it } from 'vitest';
import { loadSyncRules } from './load-sync-rules.ts';
import { formatSubscription, parseSubscriptionLines } from './subscription-text.ts';

const STREAMS = loadSyncRules(`config:
  edition: 2
streams:
  my_lists:
    auto_subscribe: true
    query: SELECT * FROM lists WHERE owner_id = auth.user_id()
  list_todos:
    query: SELECT * FROM todos WHERE list_id = subscription.parameter('list_id')
`).hydrated;
const BUCKETS_ONLY = loadSyncRules(`bucket_definitions:
  by_owner:
    parameters: SELECT request.user_id() AS owner_id
    data:
      - SELECT * FROM lists WHERE owner_id = bucket.owner_id
`).hydrated;
const FIX =
  'Write one subscription per line as NAME, NAME=PARAMS or NAME@PRIORITY=PARAMS with PARAMS a JSON object, e.g. list_todos={"list_id":"l1"}';

describe("the console's subscription lines", () => {
  it('reads one subscription per line, skipping blank lines, in order', () => {
    const text = '\nlist_todos={"list_id":"l1"}\n\n  list_todos@0={"list_id":"l2"}  \r\nmy_lists\n';
    const result = parseSubscriptionLines(text, STREAMS);
    expect(result).toEqual({
      subscriptions: [
        { stream: 'list_todos', parameters: { list_id: 'l1' }, priority: null },
        { stream: 'list_todos', parameters: { list_id: 'l2' }, priority: 0 },
        { stream: 'my_lists', parameters: null, priority: null }
      ]
    });
    if ('subscriptions' in result)
      expect(result.subscriptions.map(formatSubscription)).toEqual([
        'list_todos={"list_id":"l1"}',
        'list_todos@0={"list_id":"l2"}',
        'my_lists'
      ]);
  });

  it('nothing but blank lines is no subscription', () => {
    expect(parseSubscriptionLines(' \n\n', STREAMS)).toEqual({ subscriptions: [] });
  });

  it.each([
    [
      'list_todos={"list_id":"l1"}\nlist_todos={"list_id":',
      'SYNCSCOPE_E_STREAM_SUBSCRIPTION_INVALID',
      `Subscriptions, line 2 (list_todos={"list_id":): the parameters are not valid JSON (Unexpected end of JSON input). ${FIX}`
    ],
    [
      'list_todos=["l1"]',
      'SYNCSCOPE_E_STREAM_SUBSCRIPTION_INVALID',
      `Subscriptions, line 1 (list_todos=["l1"]): the parameters must be a JSON object of subscription parameters. ${FIX}`
    ],
    [
      '\n\nlist_todos@high={"list_id":"l1"}',
      'SYNCSCOPE_E_STREAM_SUBSCRIPTION_INVALID',
      `Subscriptions, line 3 (list_todos@high={"list_id":"l1"}): the priority "high" is not 0, 1, 2 or 3. ${FIX}`
    ],
    [
      '={"list_id":"l1"}',
      'SYNCSCOPE_E_STREAM_SUBSCRIPTION_INVALID',
      `Subscriptions, line 1 (={"list_id":"l1"}): the stream name is missing. ${FIX}`
    ],
    [
      'my_lists\nlist_todo={"list_id":"l1"}',
      'SYNCSCOPE_E_STREAM_UNKNOWN',
      'Subscriptions, line 2 (list_todo={"list_id":"l1"}): The sync rules define no stream "list_todo": subscribe to one of "my_lists", "list_todos".'
    ]
  ])('%j: %s', (text, code, message) => {
    const result = parseSubscriptionLines(text, STREAMS);
    expect('error' in result && { code: result.error.code, message: result.error.message }).toEqual({
      code,
      message
    });
  });

  it.each([
    [
      'by_owner',
      'Subscriptions, line 1 (by_owner): The sync rules define no stream "by_owner": "by_owner" is a bucket definition, not a sync stream: every user gets its buckets without subscribing, so drop the subscription.'
    ],
    [
      'list_todos',
      'Subscriptions, line 1 (list_todos): The sync rules define no stream "list_todos": they define no sync streams (streams:), only bucket definitions, which need no subscription.'
    ]
  ])('rules without streams refuse %s', (text, message) => {
    const result = parseSubscriptionLines(text, BUCKETS_ONLY);
    expect('error' in result && result.error.message).toBe(message);
  });
});
