import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  type ClientStreamSubscription,
  describeClientSubscription
} from '@syncscope/core/inspector/client-stream-subscriptions';
import { compareWithSource, type SourceComparison } from '@syncscope/core/inspector/compare-with-source';
import {
  type ClientDatabaseInspection,
  inspectClientDatabase
} from '@syncscope/core/inspector/inspect-client-database';
import { copyForInspection, openClientDatabase } from '@syncscope/core/inspector/open-client-database';
import { formatSubscription } from '@syncscope/core/sync-rules/subscription-text';
import { resolveTarget, targetsSource } from '../probe/resolve-target.ts';
import type { CommandContext } from './command-context.ts';

/** Works on a copy with its WAL folded in (the user's file is never opened for writing). */
async function withCopy<T>(file: string, fn: (copy: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'syncscope-inspect-'));
  try {
    const copy = path.join(dir, 'client.db');
    await copyForInspection(file, copy);
    return await fn(copy);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function inspectCopy(copy: string): Promise<ClientDatabaseInspection> {
  const db = await openClientDatabase(copy);
  try {
    return inspectClientDatabase(db);
  } finally {
    db.close();
  }
}

function formatSubscriptions(subscriptions: ClientStreamSubscription[], at: string): string[] {
  if (subscriptions.length === 0) return ['Stream subscriptions: none.'];
  return [
    `Stream subscriptions (${subscriptions.length}), as of ${at}:`,
    ...subscriptions.map((s) => `  ${formatSubscription(s)}  ${describeClientSubscription(s)}`)
  ];
}

function format(inspection: ClientDatabaseInspection, comparison: SourceComparison | null): string {
  const { queue } = inspection;
  const lines = [
    `Client ${inspection.clientId ?? 'unknown'}: ${queue.operations} pending upload operations in ${queue.transactions.length} transactions (${queue.bytes} bytes).`
  ];
  if (queue.head)
    lines.push(
      `Head of the queue (the rest waits behind it): ${queue.head.op} ${queue.head.table}/${queue.head.rowId}`
    );
  lines.push(
    '',
    `Buckets (${inspection.buckets.length}), op log ${inspection.opLog.operations} ops, last op ${inspection.opLog.maxOpId ?? '-'}:`
  );
  for (const b of inspection.buckets) lines.push(`  ${b.name}  last op ${b.lastOp}, ${b.ops} ops`);
  lines.push('', ...formatSubscriptions(inspection.streamSubscriptions, inspection.inspectedAt));
  if (comparison) {
    lines.push('', comparison.summary, ...comparison.notes.map((note) => `  ${note}`));
    for (const d of [...comparison.buckets.differences, ...comparison.rows.differences])
      lines.push(`  ${d.explanation}`);
  }
  return `${lines.join('\n')}\n`;
}

export interface InspectCommandOptions {
  file: string;
  target?: string;
  user?: string;
  targets?: string;
  json?: boolean;
}

/** Inspects a copy of the file, compares it with the source when a target and user are given, prints. */
export async function runInspectCommand(opts: InspectCommandOptions, ctx: CommandContext): Promise<number> {
  ctx.setJson(Boolean(opts.json));
  const { inspection, comparison } = await withCopy(opts.file, async (copy) => {
    const inspected = await inspectCopy(copy);
    if (!opts.target || !opts.user) return { inspection: inspected, comparison: null };
    const target = await resolveTarget(targetsSource(opts.targets, ctx.env), opts.target, ctx.scrubber);
    const comparison = await compareWithSource(target, opts.user, copy, {
      subscriptions: inspected.streamSubscriptions
    });
    return { inspection: inspected, comparison };
  });
  ctx.out(
    opts.json ? `${JSON.stringify({ ...inspection, comparison }, null, 2)}\n` : format(inspection, comparison)
  );
  return comparison?.verdict === 'mismatch' ? 1 : 0;
}
