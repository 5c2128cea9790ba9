import 'server-only';
import { compareWithSource, type SourceComparison } from '@syncscope/core/inspector/compare-with-source';
import {
  type ClientDatabaseInspection,
  inspectClientDatabase
} from '@syncscope/core/inspector/inspect-client-database';
import type { InspectedDatabase } from '@syncscope/core/inspector/inspected-databases';
import { openClientDatabase } from '@syncscope/core/inspector/open-client-database';
import { opsPool } from '@/server/ops-pool';
import { loadTarget } from '@/server/targets';

export interface HeadFailures {
  failures: number;
  firstFailedAt: Date;
  lastDetail: string;
  groupId: string;
}

/** Reads the file (read-only), compares it with the source when a target and user were given. */
export async function inspect(record: InspectedDatabase): Promise<{
  inspection: ClientDatabaseInspection;
  comparison: SourceComparison | { error: string } | null;
  headFailures: HeadFailures | null;
}> {
  const db = await openClientDatabase(record.filePath);
  let inspection: ClientDatabaseInspection;
  try {
    inspection = inspectClientDatabase(db);
  } finally {
    db.close();
  }
  let comparison: SourceComparison | { error: string } | null = null;
  if (record.target && record.userId) {
    try {
      comparison = await compareWithSource(await loadTarget(record.target), record.userId, record.filePath, {
        subscriptions: inspection.streamSubscriptions
      });
    } catch (error) {
      comparison = { error: (error as Error).message };
    }
  }
  return { inspection, comparison, headFailures: await headFailures(record.target, inspection) };
}

/** What backends reported about the head operation from this client: how long it has been failing. */
async function headFailures(
  target: string | null,
  inspection: ClientDatabaseInspection
): Promise<HeadFailures | null> {
  const head = inspection.queue.head;
  if (!head || !inspection.clientId) return null;
  const { rows } = await opsPool().query<HeadFailures>(
    `SELECT failures::int, first_failed_at AS "firstFailedAt", last_detail AS "lastDetail", last_group_id AS "groupId"
     FROM syncscope.upload_error_streaks
     WHERE client_id = $1 AND table_name = $2 AND row_id = $3 AND op = $4 AND ($5::text IS NULL OR target = $5)
     ORDER BY last_failed_at DESC LIMIT 1`,
    [inspection.clientId, head.table, head.rowId, head.op, target]
  );
  return rows[0] ?? null;
}
