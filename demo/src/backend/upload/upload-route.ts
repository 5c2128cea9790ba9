import { SyncScopeError } from '@syncscope/core';
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { type AuthConfig, authenticatedUserOrThrow } from '../request-auth.ts';
import { applyOperation } from './apply-operation.ts';
import { type OperationResult, uploadRequestSchema } from './upload-request.ts';
import { validateOperation } from './validate-operation.ts';

export type UploadResultsHook = (
  userId: string,
  results: OperationResult[],
  batch: unknown[]
) => void | Promise<void>;

/**
 * POST /api/upload {batch: [{op, table, id, data}]}: applies each operation in its own transaction, in
 * order, and answers per operation. A failure never affects the other operations.
 */
export function registerUploadRoute(
  app: FastifyInstance,
  deps: {
    pool: pg.Pool;
    auth: AuthConfig;
    onResults?: UploadResultsHook;
    logger: { warn(o: object, m: string): void };
  }
): void {
  app.post('/api/upload', async (request) => {
    const userId = await authenticatedUserOrThrow(request, deps.auth);
    const parsed = uploadRequestSchema.safeParse(request.body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new SyncScopeError(
        'SYNCSCOPE_E_REQUEST_INVALID',
        `Invalid upload: ${issue?.path.join('.') || 'body'}: ${issue?.message}. Send {"batch": [{"op", "table", "id", "data"}]}.`
      );
    }
    const results: OperationResult[] = [];
    for (const [index, raw] of parsed.data.batch.entries()) {
      const checked = validateOperation(index, raw);
      results.push('ok' in checked ? checked : await applyOperation(deps.pool, userId, checked));
    }
    const failures = results.filter((r) => !r.ok);
    if (failures.length > 0)
      deps.logger.warn(
        { user: userId, failures: failures.length, ops: results.length },
        'upload operations rejected'
      );
    await deps.onResults?.(userId, results, parsed.data.batch);
    return { results };
  });
}
