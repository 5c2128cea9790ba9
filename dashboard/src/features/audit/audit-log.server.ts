import 'server-only';
import { opsPool } from '@/server/ops-pool';

export interface AuditRow {
  id: string;
  at: Date;
  actor: string;
  action: string;
  target: string | null;
  subjectUser: string | null;
  reason: string | null;
  details: Record<string, unknown>;
}

/**
 * `scope`: the targets whose entries the reader may see, null for all; entries of no one target
 * (sign-ins, users added) are shown only with null, i.e. to admins of all targets.
 */
export async function listAuditLog(
  filters: { action?: string; actor?: string; subject?: string; scope: string[] | null },
  offset: number,
  limit: number
): Promise<{ rows: AuditRow[]; total: number }> {
  const values = [filters.action || null, filters.actor || null, filters.subject || null, filters.scope];
  const where = `WHERE ($1::text IS NULL OR action = $1) AND ($2::text IS NULL OR actor = $2)
    AND ($3::text IS NULL OR subject_user = $3) AND ($4::text[] IS NULL OR target = ANY($4))`;
  const [page, count] = await Promise.all([
    opsPool().query<AuditRow>(
      `SELECT id, at, actor, action, target, subject_user AS "subjectUser", reason, details
       FROM syncscope.audit_log ${where} ORDER BY id DESC OFFSET $5 LIMIT $6`,
      [...values, offset, limit]
    ),
    opsPool().query<{ n: number }>(`SELECT count(*)::int AS n FROM syncscope.audit_log ${where}`, values)
  ]);
  return { rows: page.rows, total: count.rows[0]!.n };
}
