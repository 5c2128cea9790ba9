import { diffStates, type StateDiff } from '../probe/diff/diff-states.ts';
import { computeExpectedState } from '../probe/expected/compute-expected-state.ts';
import { SpilledExpectedRows } from '../probe/expected/expected-rows.ts';
import { definitionOfBucket } from '../probe/expected/rule-analysis.ts';
import type {
  BucketDifference,
  DiffKind,
  ExpectedState,
  ProbeTarget,
  RowDifference
} from '../probe/probe-types.ts';
import { ClientDatabase } from '../probe/sync/client-database.ts';
import { findTableReferences, type LoadedSyncRules, loadSyncRules } from '../sync-rules/load-sync-rules.ts';
import { type StreamSubscription, streamNamesOf } from '../sync-rules/stream-subscriptions.ts';
import { formatSubscription } from '../sync-rules/subscription-text.ts';
import { counted } from '../text/counted.ts';
import {
  type ClientStreamSubscription,
  describeClientSubscription,
  requestedSubscriptions
} from './client-stream-subscriptions.ts';

export interface SourceComparison {
  userId: string;
  verdict: 'consistent' | 'mismatch';
  summary: string;
  /** The client's requested stream subscriptions the expected state includes (besides default streams). */
  subscriptions: StreamSubscription[];
  /** Subscriptions the comparison leaves out, and why (a stream the rules lack: the service ignores it). */
  notes: string[];
  buckets: { expected: string[]; actual: string[]; differences: BucketDifference[] };
  rows: {
    expected: number;
    actual: number;
    perTable: Record<string, { expected: number; actual: number }>;
    /** The first DIFF_DEFAULTS.maxDifferences in key order; `differenceCounts` has them all. */
    differences: RowDifference[];
    differenceCounts: Record<DiffKind, number>;
  };
}

const WHY: Record<RowDifference['kind'], string> = {
  missing:
    'the source and the rules put it in a bucket this user holds, but the exported database does not have it: the device was behind when it was exported, or it was never delivered (probe the user to tell which)',
  extra:
    'the exported database has it, but the source and the rules no longer give it to this user: it was deleted or moved since, and the device had not synced that yet',
  different:
    'the exported copy differs from the source: a change the device had not synced yet, or one the service delivered wrongly (probe the user to tell which)'
};

/** The client's requested subscriptions the comparison includes, and a note for each it cannot. */
function subscriptionsToCompare(
  rules: LoadedSyncRules,
  client: ClientStreamSubscription[]
): { used: StreamSubscription[]; notes: string[] } {
  const streams = streamNamesOf(rules.hydrated);
  const requested = requestedSubscriptions(client);
  return {
    used: requested.filter((s) => streams.includes(s.stream)),
    notes: requested
      .filter((s) => !streams.includes(s.stream))
      .map(
        (s) =>
          `The client subscribes to ${formatSubscription(s)}, but the rules define no stream "${s.stream}": the service ignores that subscription, so nothing of it is expected.`
      )
  };
}

/** Why the file holds a bucket the user does not get now: often a subscription the client dropped. */
function explainExtraBucket(
  rules: LoadedSyncRules,
  bucket: string,
  client: ClientStreamSubscription[]
): string {
  const stream = definitionOfBucket(rules, bucket)?.name;
  const dropped = client.filter(
    (s) => s.stream === stream && (s.status === 'expired' || s.status === 'unsubscribed')
  );
  if (dropped.length === 0) return `The exported database holds ${bucket}, which the user no longer gets.`;
  const why = dropped.map((s) => `${formatSubscription(s)} ${describeClientSubscription(s)}`).join('; ');
  return `The exported database holds ${bucket} of stream ${stream}, which the client no longer requests: ${why}.`;
}

function explainBuckets(
  rules: LoadedSyncRules,
  diff: StateDiff,
  client: ClientStreamSubscription[]
): BucketDifference[] {
  return diff.bucketDifferences.map((d) => ({
    ...d,
    explanation:
      d.kind === 'missing'
        ? `The user should hold ${d.bucket} now, but the exported database has no such bucket.`
        : explainExtraBucket(rules, d.bucket, client)
  }));
}

/** Each row difference in a sentence: the rule that puts the row there, or the dropped bucket it is in. */
function explainRows(rules: LoadedSyncRules, expected: ExpectedState, diff: StateDiff): RowDifference[] {
  const extraBuckets = new Set(diff.bucketDifferences.filter((d) => d.kind === 'extra').map((d) => d.bucket));
  const ruleOf = (table: string, bucket: string) => {
    const definition = expected.buckets.find((b) => b.bucket === bucket)?.definition;
    const line = findTableReferences(rules.yaml, table)[0]?.line;
    return definition ? ` (rule ${definition}${line ? `, line ${line}` : ''})` : '';
  };
  return diff.rowDifferences.map((d) => ({
    ...d,
    explanation:
      d.kind === 'extra' && d.buckets.length > 0 && d.buckets.every((b) => extraBuckets.has(b))
        ? `${d.table} ${d.id}: it is held only in ${d.buckets.join(', ')}, which the user no longer gets (see the bucket differences).`
        : `${d.table} ${d.id}: ${WHY[d.kind]}${ruleOf(d.table, d.buckets[0] ?? '')}.`
  }));
}

function verdictOf(
  diff: StateDiff,
  expectedBuckets: number,
  subscriptions: number
): Pick<SourceComparison, 'verdict' | 'summary'> {
  const rows = Object.values(diff.differenceCounts).reduce((a, b) => a + b, 0);
  const buckets = diff.bucketDifferences.length;
  const withSubscriptions =
    subscriptions === 0
      ? ''
      : ` (with the client's ${subscriptions} stream subscription${subscriptions > 1 ? 's' : ''})`;
  return rows + buckets === 0
    ? {
        verdict: 'consistent',
        summary: `The exported database matches the source${withSubscriptions}: ${counted(diff.expectedRows, 'row')} in ${counted(expectedBuckets, 'bucket')}.`
      }
    : {
        verdict: 'mismatch',
        summary: `${rows} row and ${buckets} bucket differences between the exported database and the source${withSubscriptions}.`
      };
}

/**
 * What an exported client database holds against what the source says its user should have now: the
 * probe engine's expected state (spilled to disk) for the default streams and the stream subscriptions
 * the client would request now (`subscriptions`, as read from the file: expired ones are left out, as
 * the client drops them), and its diff joined with the file's op log (read-only), with explanations for
 * a snapshot: the device may have been behind when the file was exported, so a difference is evidence to
 * follow up with a live probe.
 */
export async function compareWithSource(
  target: ProbeTarget,
  userId: string,
  clientDatabaseFile: string,
  options: { subscriptions?: ClientStreamSubscription[]; claims?: Record<string, unknown> } = {}
): Promise<SourceComparison> {
  const rules = loadSyncRules(target.syncRulesYaml, { file: target.syncRulesFile });
  const clientSubscriptions = options.subscriptions ?? [];
  const { used, notes } = subscriptionsToCompare(rules, clientSubscriptions);
  const client = new ClientDatabase(clientDatabaseFile);
  const store = SpilledExpectedRows.create();
  try {
    const expected = await computeExpectedState({
      sourceUrl: target.sourceUrl,
      rules,
      userId,
      claims: { ...(target.extraClaims ?? {}), ...(options.claims ?? {}) },
      subscriptions: used,
      rows: store
    });
    const expectedBuckets = expected.buckets.map((b) => b.bucket);
    const withRows = store.bucketsWithRows();
    const diff = diffStates({
      expectedBuckets,
      expectedRows: store,
      actualBuckets: client.buckets(),
      clientFile: clientDatabaseFile,
      checkpoint: null,
      // The client stores a bucket only once an operation of it arrives (a subscription whose
      // parameters select nothing, a workspace without records): an empty one is not missing.
      emptyBuckets: expectedBuckets.filter((b) => !withRows.has(b))
    });
    return {
      userId,
      ...verdictOf(diff, expectedBuckets.length, used.length),
      subscriptions: used,
      notes,
      buckets: {
        expected: expectedBuckets,
        actual: diff.heldBuckets,
        differences: explainBuckets(rules, diff, clientSubscriptions)
      },
      rows: {
        expected: diff.expectedRows,
        actual: diff.actualRows,
        perTable: diff.perTable,
        differences: explainRows(rules, expected, diff),
        differenceCounts: diff.differenceCounts
      }
    };
  } finally {
    client.close();
    store.close();
  }
}
