import pg from 'pg';
import { isRetryablePgError, pgErrorCode } from './classify-pg-error.ts';
import type { OperationFailure, OperationResult, ValidOperation } from './upload-request.ts';

/** Per-operation limits: a lock held elsewhere fails this op as retryable instead of hanging the batch. */
export const OPERATION_LIMITS = { lockTimeoutMs: 2_000, statementTimeoutMs: 5_000 };

class FinalRejection extends Error {
  constructor(
    readonly code: string,
    message: string
  ) {
    super(message);
  }
}

const WRITER_ROLES = ['owner', 'member'];

async function assertMayWrite(client: pg.PoolClient, userId: string, workspaceId: string): Promise<void> {
  const { rows } = await client.query<{ role: string }>(
    'SELECT role FROM workspace_memberships WHERE user_id = $1 AND workspace_id = $2',
    [userId, workspaceId]
  );
  const role = rows[0]?.role;
  if (!role || !WRITER_ROLES.includes(role)) {
    throw new FinalRejection(
      'DEMO_E_FORBIDDEN',
      role
        ? `role ${role} in workspace ${workspaceId} may not write`
        : `the writer is not a member of workspace ${workspaceId}`
    );
  }
}

async function assertCategoryInWorkspace(
  client: pg.PoolClient,
  categoryId: string,
  workspaceId: string
): Promise<void> {
  const { rows } = await client.query<{ workspace_id: string }>(
    'SELECT workspace_id FROM categories WHERE id = $1',
    [categoryId]
  );
  if (rows[0]?.workspace_id !== workspaceId) {
    throw new FinalRejection(
      'DEMO_E_FOREIGN_KEY',
      `category ${categoryId} does not exist in workspace ${workspaceId}`
    );
  }
}

/** Applies one validated operation as the user, in its own transaction: all of it or nothing. */
export async function applyOperation(
  pool: pg.Pool,
  userId: string,
  op: ValidOperation
): Promise<OperationResult> {
  const base = { index: op.index, table: op.table, id: op.id, op: op.op };
  let client: pg.PoolClient | null = null;
  try {
    client = await pool.connect();
    await client.query('BEGIN');
    await client.query(`SET LOCAL lock_timeout = ${OPERATION_LIMITS.lockTimeoutMs}`);
    await client.query(`SET LOCAL statement_timeout = ${OPERATION_LIMITS.statementTimeoutMs}`);
    await applyInTransaction(client, userId, op);
    await client.query('COMMIT');
    return { ...base, ok: true };
  } catch (error) {
    await client?.query('ROLLBACK').catch(() => {});
    if (error instanceof FinalRejection)
      return { ...base, ok: false, retryable: false, code: error.code, detail: error.message };
    return failureFromPg(base, error);
  } finally {
    client?.release();
  }
}

function failureFromPg(
  base: Omit<OperationFailure, 'ok' | 'retryable' | 'code' | 'detail'>,
  error: unknown
): OperationFailure {
  const retryable = isRetryablePgError(error);
  const sqlstate = pgErrorCode(error);
  return {
    ...base,
    ok: false,
    retryable,
    code: retryable ? 'DEMO_E_TRANSIENT' : 'DEMO_E_CONSTRAINT',
    detail: `${sqlstate ? `SQLSTATE ${sqlstate}: ` : ''}${(error as Error).message}`
  };
}

async function applyInTransaction(client: pg.PoolClient, userId: string, op: ValidOperation): Promise<void> {
  const table = pg.escapeIdentifier(op.table);
  const existing = await client.query<{ workspace_id: string }>(
    `SELECT workspace_id FROM ${table} WHERE id = $1 FOR UPDATE`,
    [op.id]
  );
  const current = existing.rows[0];
  if (current) await assertMayWrite(client, userId, current.workspace_id);
  if (op.op === 'DELETE') {
    if (current) await client.query(`DELETE FROM ${table} WHERE id = $1`, [op.id]);
    return;
  }
  if (op.op === 'PATCH' && !current)
    throw new FinalRejection('DEMO_E_NOT_FOUND', `${op.table} ${op.id} does not exist`);
  const workspaceId = (op.values.workspace_id as string | undefined) ?? current?.workspace_id;
  if (workspaceId && workspaceId !== current?.workspace_id) await assertMayWrite(client, userId, workspaceId);
  if (op.table === 'records' && typeof op.values.category_id === 'string' && workspaceId) {
    await assertCategoryInWorkspace(client, op.values.category_id, workspaceId);
  }
  // Column names come from the validated allow-list only; values are always parameters.
  const columns = Object.keys(op.values);
  const params = columns.map((c) => op.values[c]);
  if (op.op === 'PATCH') {
    const sets = columns.map((c, i) => `${pg.escapeIdentifier(c)} = $${i + 2}`).join(', ');
    await client.query(`UPDATE ${table} SET ${sets} WHERE id = $1`, [op.id, ...params]);
    return;
  }
  const names = ['id', ...columns].map((c) => pg.escapeIdentifier(c)).join(', ');
  const placeholders = ['id', ...columns].map((_, i) => `$${i + 1}`).join(', ');
  const updates = columns
    .map((c) => `${pg.escapeIdentifier(c)} = excluded.${pg.escapeIdentifier(c)}`)
    .join(', ');
  await client.query(
    `INSERT INTO ${table} (${names}) VALUES (${placeholders}) ON CONFLICT (id) DO UPDATE SET ${updates}`,
    [op.id, ...params]
  );
}
