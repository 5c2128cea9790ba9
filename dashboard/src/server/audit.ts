import 'server-only';
import { type AuditEntry, appendAudit } from '@syncscope/core/ops-db/ops-database';
import { opsPool } from './ops-pool';

/** Appends to the audit log (append-only in the database: the console cannot edit or delete entries). */
export function audit(entry: AuditEntry): Promise<void> {
  return appendAudit(opsPool(), entry);
}
