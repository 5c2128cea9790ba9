import type { BucketDifference, ExpectedState, RowDifference } from '../probe-types.ts';

/** Facts about the service and the source that turn a difference into a cause an operator can act on. */
export interface DiagnosisContext {
  userId: string;
  /** Source tables not in the `powersync` publication: their changes never reach the service. */
  unpublishedTables: Set<string>;
  /** The service's replication lag in seconds, when its admin API or metrics said. */
  replicationLagSeconds: number | null;
  settleMs: number;
  actualBuckets: Set<string>;
  /** "rule by_workspace, sync_rules.yaml:5" for a row of a table in a bucket, when known. */
  ruleOf: (table: string, bucket: string) => string | null;
}

function ruleNote(d: RowDifference, ctx: DiagnosisContext): string {
  const rule = d.buckets.map((b) => ctx.ruleOf(d.table, b)).find(Boolean);
  return rule ? ` (${rule})` : '';
}

const describeParams = (p: Record<string, unknown>) =>
  Object.entries(p)
    .map(([k, v]) => `${k} = ${JSON.stringify(v)}`)
    .join(', ');

export function explainBucketDifference(
  d: BucketDifference,
  expected: ExpectedState,
  ctx: DiagnosisContext
): string {
  if (d.kind === 'missing') {
    const b = expected.buckets.find((x) => x.bucket === d.bucket);
    const evidence = expected.parameterEvidence.find((e) => e.definition === b?.definition);
    const source = evidence?.matchedRows.length
      ? ` (from ${evidence.matchedRows.map((r) => `${r.table} ${r.id}`).join(', ')})`
      : '';
    return (
      `The rules give ${ctx.userId} bucket ${d.bucket} (definition ${b?.definition ?? '?'}, ${describeParams(b?.parameters ?? {})})${source}, ` +
      `but the service did not include it in the checkpoint: its parameter data is behind the source (replication lag) or wrong (a service fault).`
    );
  }
  return (
    `The client holds bucket ${d.bucket}, which the rules no longer give ${ctx.userId} (for example a membership was removed): ` +
    `the service has not caught up with the change (replication lag) or kept stale parameter data.`
  );
}

function deliveryCause(d: RowDifference, ctx: DiagnosisContext): string {
  if (ctx.unpublishedTables.has(d.table)) {
    return `table ${d.table} is not in the publication "powersync", so its changes no longer reach the service (add it back: ALTER PUBLICATION powersync ADD TABLE ${d.table}).`;
  }
  if (d.settled === 'cleared')
    return `it cleared after ${d.clearedAfterMs} ms: replication lag, not a fault.`;
  const lag =
    ctx.replicationLagSeconds !== null && ctx.replicationLagSeconds > 1
      ? ` The service reports ${ctx.replicationLagSeconds.toFixed(1)} s of replication lag: replication is stalled or behind.`
      : '';
  return `it persisted through the ${ctx.settleMs / 1000} s settle window: the service lost or never applied the change (a service fault, or replication stalled).${lag}`;
}

/** One sentence per row difference: which rule and bucket, and the likely cause. */
export function explainRowDifference(d: RowDifference, ctx: DiagnosisContext): string {
  const where = d.buckets.join(', ');
  if (d.kind === 'missing') {
    const lacking = d.buckets.filter((b) => !ctx.actualBuckets.has(b));
    if (lacking.length === d.buckets.length) {
      return `${d.table} ${d.id} belongs in ${where}${ruleNote(d, ctx)}, which the client does not hold (see the bucket differences).`;
    }
    return `${d.table} ${d.id} is in ${where} per the source and the rules${ruleNote(d, ctx)}, and the client holds that bucket, but the row was not delivered: ${deliveryCause(d, ctx)}`;
  }
  if (d.kind === 'extra') {
    return `${d.table} ${d.id} is on the client (${where}) but the source and the rules no longer put it there (deleted, moved, or no rule selects it): ${deliveryCause(d, ctx)}`;
  }
  const fields = (d.fields ?? []).map((f) => f.field).join(', ');
  return `${d.table} ${d.id}${ruleNote(d, ctx)} differs from the source in ${fields || 'its serialized form'} (row checksum ${d.actualChecksum} on the client, ${d.expectedChecksum} expected): ${deliveryCause(d, ctx)}`;
}
