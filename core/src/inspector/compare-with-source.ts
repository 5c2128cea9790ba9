import { diffStates } from '../probe/diff/diff-states.ts';
import { computeExpectedState } from '../probe/expected/compute-expected-state.ts';
import { SpilledExpectedRows } from '../probe/expected/expected-rows.ts';
import type { BucketDifference, DiffKind, ProbeTarget, RowDifference } from '../probe/probe-types.ts';
import { ClientDatabase } from '../probe/sync/client-database.ts';
import { findTableReferences, loadSyncRules } from '../sync-rules/load-sync-rules.ts';

export interface SourceComparison {
  userId: string;
  verdict: 'consistent' | 'mismatch';
  summary: string;
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

/**
 * What an exported client database holds against what the source says its user should have now: the
 * probe engine's expected state (spilled to disk) and diff joined with the file's op log (read-only), with
 * explanations for a snapshot: the device may have been behind when the file was exported, so a
 * difference is evidence to follow up with a live probe.
 */
export async function compareWithSource(
  target: ProbeTarget,
  userId: string,
  clientDatabaseFile: string,
  claims: Record<string, unknown> = {}
): Promise<SourceComparison> {
  const rules = loadSyncRules(target.syncRulesYaml, { file: target.syncRulesFile });
  const client = new ClientDatabase(clientDatabaseFile);
  const store = SpilledExpectedRows.create();
  try {
    const expected = await computeExpectedState({
      sourceUrl: target.sourceUrl,
      rules,
      userId,
      claims: { ...(target.extraClaims ?? {}), ...claims },
      rows: store
    });
    const expectedBuckets = expected.buckets.map((b) => b.bucket);
    const diff = diffStates({
      expectedBuckets,
      expectedRows: store,
      actualBuckets: client.buckets(),
      clientFile: clientDatabaseFile,
      checkpoint: null
    });
    const ruleOf = (table: string, bucket: string) => {
      const definition = expected.buckets.find((b) => b.bucket === bucket)?.definition;
      const line = findTableReferences(rules.yaml, table)[0]?.line;
      return definition ? ` (rule ${definition}${line ? `, line ${line}` : ''})` : '';
    };
    const differences = diff.rowDifferences.map((d) => ({
      ...d,
      explanation: `${d.table} ${d.id}: ${WHY[d.kind]}${ruleOf(d.table, d.buckets[0] ?? '')}.`
    }));
    const bucketDifferences = diff.bucketDifferences.map((d) => ({
      ...d,
      explanation:
        d.kind === 'missing'
          ? `The user should hold ${d.bucket} now, but the exported database has no such bucket.`
          : `The exported database holds ${d.bucket}, which the user no longer gets.`
    }));
    const rowTotal = Object.values(diff.differenceCounts).reduce((a, b) => a + b, 0);
    const total = rowTotal + bucketDifferences.length;
    return {
      userId,
      verdict: total === 0 ? 'consistent' : 'mismatch',
      summary:
        total === 0
          ? `The exported database matches the source: ${diff.expectedRows} rows in ${expectedBuckets.length} buckets.`
          : `${rowTotal} row and ${bucketDifferences.length} bucket differences between the exported database and the source.`,
      buckets: {
        expected: expectedBuckets,
        actual: diff.heldBuckets,
        differences: bucketDifferences
      },
      rows: {
        expected: diff.expectedRows,
        actual: diff.actualRows,
        perTable: diff.perTable,
        differences,
        differenceCounts: diff.differenceCounts
      }
    };
  } finally {
    client.close();
    store.close();
  }
}
