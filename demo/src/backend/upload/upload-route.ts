import { SyncScopeError } from '@syncscope/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type pg from 'pg';
import { type AuthConfig, authenticatedUserOrThrow } from '../request-auth.ts';
import { applyOperation } from './apply-operation.ts';
import { type OperationFailure, type OperationResult, uploadRequestSchema } from './upload-request.ts';
import { validateOperation } from './validate-operation.ts';

export type UploadResultsHook = (
  userId: string,
  results: OperationResult[],
  batch: unknown[],
  context: { clientId?: string }
) => void | Promise<void>;

/** The uploading client's id, when its connector sends one (`X-PowerSync-Client-Id`). */
function clientIdOf(request: FastifyRequest): string | undefined {
  const value = request.headers['x-powersync-client-id'];
  return typeof value === 'string' && value.length > 0 && value.length <= 200 ? value : undefined;
}

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
    logger: { warn(o: object, m: string): void; error(o: object, m: string): void };
  }
): void {
  const writers = new WeakMap<FastifyRequest, string>();
  // Authenticated in onRequest, before the body is read: an anonymous caller cannot make the server
  // buffer and parse up to the 16 MB body limit.
  const onRequest = async (request: FastifyRequest) => {
    writers.set(request, await authenticatedUserOrThrow(request, deps.auth));
  };
  app.post('/api/upload', { onRequest }, async (request) => {
    const userId = writers.get(request)!;
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
      results.push('ok' in checked ? checked : await applyOperation(deps.pool, userId, checked, deps.logger));
    }
    const failures = results.filter((r): r is OperationFailure => !r.ok);
    if (failures.length > 0)
      deps.logger.warn(
        // Codes only: a detail can quote row values (Postgres messages do).
        {
          user: userId,
          failures: failures.length,
          ops: results.length,
          codes: [...new Set(failures.map((f) => f.code))]
        },
        'upload operations rejected'
      );
    try {
      await deps.onResults?.(userId, results, parsed.data.batch, { clientId: clientIdOf(request) });
    } catch (error) {
      // The operations are committed: failing the request now would make the client upload them again.
      deps.logger.error(
        { err: error instanceof Error ? error.message : String(error) },
        'onResults hook failed'
      );
    }
    return { results };
  });
}
