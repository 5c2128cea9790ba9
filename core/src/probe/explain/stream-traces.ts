/**
 * Row traces through sync streams (`streams:`, edition 2 and later): which stream puts the row in which
 * bucket (the rules library's own evaluation of the row, as the service does it), who holds each bucket
 * (`stream-holders.ts`, inverting the stream as bucket definitions' parameter queries are inverted) and,
 * for a user, whether the buckets the service would give their subscriptions include it: not when the
 * stream is neither subscribed by default nor by the user, or when their subscriptions select other buckets.
 */
import { JSONBig } from '@powersync/service-jsonbig';
import type { BucketDataSource } from '@powersync/service-sync-rules';
import YAML from 'yaml';
import { putChecksum } from '../../checksums/op-checksum.ts';
import type { LoadedSyncRules } from '../../sync-rules/load-sync-rules.ts';
import { isSubscribedTo } from '../../sync-rules/stream-subscriptions.ts';
import { formatSubscription } from '../../sync-rules/subscription-text.ts';
import { pgRowToSyncRulesRow } from '../../values/pg-values.ts';
import type { TextRow } from '../expected/row-scan.ts';
import { bucketParametersOf, definitionOfSource, lineOfSql } from '../expected/rule-analysis.ts';
import type { SourceTableInfo } from '../expected/source-tables.ts';
import { type ScanContext, sourceOfBucket, type UserBuckets } from '../expected/user-buckets.ts';
import type { BucketTrace, QueryTrace, WhyNot } from './row-trace.ts';
import { type StreamQuery, streamBucketHolders } from './stream-holders.ts';

/** A stream source's name and query: its unique name is `<stream>|<query index>`. */
function streamOf(rules: LoadedSyncRules, source: BucketDataSource): StreamQuery {
  const [name = source.uniqueName, index = '0'] = source.uniqueName.split('|');
  const stream = (
    YAML.parse(rules.yaml) as { streams?: Record<string, { query?: string; queries?: string[] }> }
  )?.streams?.[name];
  const queries = stream?.queries ?? (stream?.query ? [stream.query] : []);
  const sql = queries[Number(index)] ?? queries[0] ?? '';
  return { name, sql, line: sql ? lineOfSql(rules.yaml, name, sql) : 0 };
}

export function streamSourcesOf(rules: LoadedSyncRules, table: SourceTableInfo): BucketDataSource[] {
  return rules.hydrated
    .getMatchingSources(table.ref)
    .bucketDataSources.filter((s) => definitionOfSource(rules, s) === undefined);
}

/** Why the user holds the row's bucket of a stream, or which of three reasons they do not. */
function userOf(
  rules: LoadedSyncRules,
  stream: { name: string; line: number },
  source: BucketDataSource,
  bucket: string,
  user: UserBuckets,
  userId: string
): { holds: boolean; reasons: WhyNot[] } {
  const given = user.buckets.filter((b) => sourceOfBucket(b) === source).map((b) => b.bucket);
  if (given.includes(bucket)) return { holds: true, reasons: [] };
  const definition = rules.hydrated.bucketSourceDefinitions.find((d) => d.name === stream.name)!;
  const subscriptions = user.subscriptions
    .map((s, index) => ({ s, index }))
    .filter(({ s }) => s.stream === stream.name);
  const why = (code: WhyNot['code'], message: string): { holds: false; reasons: WhyNot[] } => ({
    holds: false,
    reasons: [{ code, message, definition: stream.name, line: stream.line }]
  });
  const givenText = given.length === 0 ? 'no bucket' : given.join(', ');
  if (!isSubscribedTo(definition, user.subscriptions)) {
    return why(
      'stream-not-subscribed',
      `stream ${stream.name} (line ${stream.line}) has no auto_subscribe and ${userId} has no subscription to it: a client syncs its buckets only after db.syncStream('${stream.name}', {…}).subscribe() (probe with --subscribe '${stream.name}={…}')`
    );
  }
  if (subscriptions.length === 0) {
    return why(
      'stream-bucket-not-given',
      `stream ${stream.name} (line ${stream.line}) gives ${userId} ${givenText}, not ${bucket}: with this user's token and parameters its query does not select that value`
    );
  }
  const listed = subscriptions.map(({ s, index }) => `#${index} ${formatSubscription(s)}`).join(', ');
  return why(
    'stream-subscription-selects-other',
    `with subscription ${listed}, stream ${stream.name} (line ${stream.line}) gives ${userId} ${givenText}, not ${bucket}: the subscription's parameters (with this user's token) select a different bucket`
  );
}

/** One trace per stream reading the table; `raw` null: the row is not in Postgres. */
export async function traceStreams(
  ctx: ScanContext,
  table: SourceTableInfo,
  raw: TextRow | null,
  user: { userId: string; buckets: UserBuckets } | undefined
): Promise<QueryTrace[]> {
  const { rules } = ctx;
  const record = raw && rules.hydrated.applyRowContext<never>(pgRowToSyncRulesRow(table.columns, raw));
  const traces: QueryTrace[] = [];
  for (const source of streamSourcesOf(rules, table)) {
    const stream = streamOf(rules, source);
    const base = { definition: stream.name, query: stream.sql, line: stream.line };
    if (!record) {
      traces.push({
        ...base,
        outputTable: table.ref.name,
        selected: false,
        reason: 'the row is not in Postgres',
        buckets: []
      });
      continue;
    }
    const { results, errors } = rules.hydrated.evaluateRowWithErrors({
      sourceTable: table.ref,
      record,
      bucketDataSources: [source]
    });
    const buckets: BucketTrace[] = [];
    for (const r of results) {
      const json = JSONBig.stringify(r.data);
      const parameters = bucketParametersOf(r.bucket, source);
      buckets.push({
        bucket: r.bucket,
        parameters,
        json,
        checksum: putChecksum(r.table, r.id, json),
        holders: await streamBucketHolders(ctx, stream, source, parameters),
        ...(user ? { user: userOf(rules, stream, source, r.bucket, user.buckets, user.userId) } : {})
      });
    }
    traces.push({
      ...base,
      outputTable: results[0]?.table ?? table.ref.name,
      selected: buckets.length > 0,
      ...(buckets.length === 0
        ? { reason: "the stream's query selects it for no subscription parameter" }
        : {}),
      ...(errors[0] ? { error: errors[0].error } : {}),
      buckets
    });
  }
  return traces;
}
