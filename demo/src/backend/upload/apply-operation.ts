import pg from 'pg';
import { classifyPgError } from './classify-pg-error.ts';
import type { OperationFailure, OperationResult, ValidOperation } from './upload-request.ts';
import { UPLOAD_TABLES } from './validate-operation.ts';
import {
  assertCategoryInWorkspace,
  assertCategoryMayMove,
  assertMayWrite,
  FinalRejection
} from './write-checks.ts';

/** Per-operation limits: a lock held elsewhere fails this op as retryable instead of hanging the batch. */
export const OPERATION_LIMITS = { lockTimeoutMs: 2_000, statementTimeoutMs: 5_000 };

export interface ApplyLogger {
  error(o: object, m: string): void;
}

/** Applies one validated operation as the user, in its own transaction: all of it or nothing. */
export async function applyOperation(
  pool: pg.Pool,
  userId: string,
  op: ValidOperation,
  logger?: ApplyLogger
): Promise<OperationResult> {
  const base = { index: op.index, table: op.table, id: op.id, op: op.op };
  let client: pg.PoolClient | null = null;
  try {
    client = await pool.connect();
    await client.query('BEGIN');
    await client.query(`SET LOCAL lock_timeout = ${OPERATION_LIMITS.lockTimeoutMs}`);
    await client.query(`SET LOCAL statement_timeout = ${OPERATION_LIMITS.statementTimeoutMs}`);
    // Zone-less timestamps from clients (SQLite's datetime()) mean UTC, whatever the server's zone.
    await client.query(`SET LOCAL TimeZone = 'UTC'`);
    await applyInTransaction(client, userId, op);
    await client.query('COMMIT');
    return { ...base, ok: true };
  } catch (error) {
    await client?.query('ROLLBACK').catch(() => {});
    if (error instanceof FinalRejection)
      return { ...base, ok: false, retryable: false, code: error.code, detail: error.message };
    return failureFromPg(base, op, error, logger);
  } finally {
    client?.release();
  }
}

function failureFromPg(
  base: Omit<OperationFailure, 'ok' | 'retryable' | 'code' | 'detail'>,
  op: ValidOperation,
  error: unknown,
  logger: ApplyLogger | undefined
): OperationFailure {
  const { retryable, expected, sqlstate } = classifyPgError(error);
  const constraint = (error as { constraint?: unknown }).constraint;
  // A concurrent upload created the row between our look-up and the INSERT: on retry the op takes
  // the update path, with the permission checks of the existing row.
  const lostInsertRace = sqlstate === '23505' && constraint === `${op.table}_pkey`;
  const message = error instanceof Error ? error.message : String(error);
  if (!expected) {
    // No values: they may be personal data. The op's coordinates and the SQLSTATE are enough.
    logger?.error(
      { sqlstate, table: op.table, op: op.op, index: op.index, err: message },
      'unexpected upload error'
    );
  }
  return {
    ...base,
    ok: false,
    retryable: retryable || lostInsertRace,
    code: retryable || lostInsertRace ? 'DEMO_E_TRANSIENT' : 'DEMO_E_CONSTRAINT',
    detail: `${sqlstate ? `SQLSTATE ${sqlstate}: ` : ''}${message}`
  };
}

interface CurrentRow {
  workspace_id: string;
  category_id?: string | null;
}

async function applyInTransaction(client: pg.PoolClient, userId: string, op: ValidOperation): Promise<void> {
  // Table and column names come from the validated allow-list only; values are always parameters.
  const table = pg.escapeIdentifier(op.table);
  const extra = op.table === 'records' ? ', category_id' : '';
  const existing = await client.query<CurrentRow>(
    `SELECT workspace_id${extra} FROM ${table} WHERE id = $1 FOR UPDATE`,
    [op.id]
  );
  const current = existing.rows[0];
  if (current) await assertMayWrite(client, userId, current.workspace_id);
  if (op.op === 'DELETE') {
    // Deleting a row that is not there is fine: the client's intent holds (idempotent retries).
    if (current) await client.query(`DELETE FROM ${table} WHERE id = $1`, [op.id]);
    return;
  }
  if (op.op === 'PATCH' && !current)
    throw new FinalRejection('DEMO_E_NOT_FOUND', `${op.table} ${op.id} does not exist`);

  const values = op.op === 'PUT' && current ? fullRow(op) : op.values;
  const workspaceId = (values.workspace_id as string | undefined) ?? current!.workspace_id;
  const moves = current !== undefined && workspaceId !== current.workspace_id;
  if (!current || moves) await assertMayWrite(client, userId, workspaceId);
  if (op.table === 'records') {
    // Only when the pairing changes (new row, new category, or a move): a title edit takes no lock
    // on the category, which other uploads update (usage_count).
    const setsCategory = Object.hasOwn(values, 'category_id');
    const category = setsCategory ? values.category_id : current?.category_id;
    if (typeof category === 'string' && (setsCategory || moves))
      await assertCategoryInWorkspace(client, category, workspaceId);
  } else if (moves) {
    await assertCategoryMayMove(client, op.id, workspaceId);
  }

  const columns = Object.keys(values);
  const params = columns.map((c) => values[c]);
  if (current) {
    const sets = columns.map((c, i) => `${pg.escapeIdentifier(c)} = $${i + 2}`).join(', ');
    await client.query(`UPDATE ${table} SET ${sets} WHERE id = $1`, [op.id, ...params]);
    return;
  }
  // No ON CONFLICT: a row created concurrently must not be overwritten without the checks above.
  const names = ['id', ...columns].map((c) => pg.escapeIdentifier(c)).join(', ');
  const placeholders = ['id', ...columns].map((_, i) => `$${i + 1}`).join(', ');
  await client.query(`INSERT INTO ${table} (${names}) VALUES (${placeholders})`, [op.id, ...params]);
}

/**
 * A PUT carries the whole row (PowerSync leaves null columns out of it): every writable column it
 * does not name becomes NULL, except NOT NULL columns with a default, which keep their value.
 */
function fullRow(op: ValidOperation): ValidOperation['values'] {
  const spec = UPLOAD_TABLES[op.table];
  const values: ValidOperation['values'] = {};
  for (const column of Object.keys(spec.columns)) {
    if (Object.hasOwn(op.values, column)) values[column] = op.values[column] ?? null;
    else if (!spec.defaulted.includes(column)) values[column] = null;
  }
  return values;
}
