/**
 * Compacts an upload batch by `table::id`, as the article's connector does: the backend sees one
 * operation per row, carrying the row's final intent. Merge rules (earlier → later = result):
 *
 *   PUT    → PUT    = the later PUT           PATCH → PATCH = PATCH with both data merged (later wins)
 *   PUT    → PATCH  = PUT with PATCH merged   PATCH → PUT   = the later PUT
 *   any    → DELETE = DELETE                  DELETE → PUT  = PUT
 *   DELETE → PATCH  = DELETE (a deleted row cannot be patched; SQLite records no such update)
 *
 * The merged operation takes the place of the row's first operation, so rows created earlier in the
 * batch are still created before the rows that refer to them.
 */
export type CrudOp = 'PUT' | 'PATCH' | 'DELETE';

export interface CrudOperation {
  op: CrudOp;
  table: string;
  id: string;
  data?: Record<string, unknown>;
}

export function mergeCrud(earlier: CrudOperation, later: CrudOperation): CrudOperation {
  const { table, id } = later;
  if (later.op === 'DELETE') return { op: 'DELETE', table, id };
  if (later.op === 'PUT') return { op: 'PUT', table, id, data: { ...(later.data ?? {}) } };
  // later is a PATCH
  if (earlier.op === 'DELETE') return { op: 'DELETE', table, id };
  return { op: earlier.op, table, id, data: { ...(earlier.data ?? {}), ...(later.data ?? {}) } };
}

export function compactCrud(operations: readonly CrudOperation[]): CrudOperation[] {
  const merged = new Map<string, CrudOperation>();
  for (const operation of operations) {
    const key = `${operation.table}::${operation.id}`;
    const earlier = merged.get(key);
    merged.set(
      key,
      earlier
        ? mergeCrud(earlier, operation)
        : { ...operation, data: operation.data && { ...operation.data } }
    );
  }
  return [...merged.values()];
}
