import 'server-only';
import { targetOfIngestKey } from '@syncscope/core/upload-errors/ingest-keys';
import { IngestQueue, IngestQueueFullError } from '@syncscope/core/upload-errors/ingest-queue';
import {
  INGEST_LIMITS,
  type UploadReport,
  uploadReportSchema
} from '@syncscope/core/upload-errors/ingest-report';
import { DEFAULT_REDACTED_FIELDS } from '@syncscope/core/upload-errors/redact';
import { errorResponse } from '@/features/auth/guard.server';
import { consoleConfig } from '@/server/console-config';
import { consoleMetrics } from '@/server/console-metrics';
import { opsPool } from '@/server/ops-pool';
import { readCappedBody } from '@/server/read-capped-body';

const globalKey = Symbol.for('syncscope.console.ingestQueue');
type WithQueue = typeof globalThis & { [globalKey]?: IngestQueue };

function queue(): IngestQueue {
  const holder = globalThis as WithQueue;
  holder[globalKey] ??= new IngestQueue(opsPool(), {
    maxPendingOperations: 50_000,
    maxBatchOperations: 5_000,
    redacted: [...DEFAULT_REDACTED_FIELDS, ...consoleConfig().SYNCSCOPE_INGEST_REDACT_FIELDS]
  });
  return holder[globalKey];
}

function oversizedData(report: UploadReport): number | null {
  for (const r of report.results)
    if (r.data !== undefined && Buffer.byteLength(JSON.stringify(r.data)) > INGEST_LIMITS.dataBytes)
      return r.index;
  return null;
}

/**
 * POST /api/ingest/v1/upload-results (Authorization: Bearer <ingest key>): one upload batch's
 * per-operation results from an app backend. Validated whole before anything is stored; answered once
 * committed: {added, duplicates}. 429 with Retry-After when the queue is full.
 */
export async function handleIngest(request: Request): Promise<Response> {
  const metrics = consoleMetrics();
  const fail = (status: number, code: string, message: string, outcome: string) => {
    metrics.ingestRequests.inc({ outcome });
    return errorResponse(status, code, message);
  };
  const key = /^Bearer\s+(\S+)$/i.exec(request.headers.get('authorization') ?? '')?.[1];
  const target = key ? await targetOfIngestKey(opsPool(), key) : null;
  if (!target)
    return fail(
      401,
      'SYNCSCOPE_E_INGEST_KEY',
      'Unknown or revoked ingest key: send Authorization: Bearer <key> with a key from `syncscope ingest-keys add`.',
      'unauthorized'
    );
  const body = await readCappedBody(request, INGEST_LIMITS.bodyBytes);
  if (body === null)
    return fail(
      413,
      'SYNCSCOPE_E_REQUEST_TOO_LARGE',
      `The report is over ${INGEST_LIMITS.bodyBytes / 1024} KiB: send smaller batches (at most ${INGEST_LIMITS.resultsPerReport} results).`,
      'too_large'
    );
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (error) {
    return fail(
      400,
      'SYNCSCOPE_E_REQUEST_INVALID',
      `The body is not JSON: ${(error as Error).message}.`,
      'invalid'
    );
  }
  const parsed = uploadReportSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return fail(
      400,
      'SYNCSCOPE_E_REQUEST_INVALID',
      `Invalid report: ${issue.path.join('.') || 'body'}: ${issue.message}.`,
      'invalid'
    );
  }
  const tooBig = oversizedData(parsed.data);
  if (tooBig !== null)
    return fail(
      413,
      'SYNCSCOPE_E_REQUEST_TOO_LARGE',
      `results[${tooBig}].data is over ${INGEST_LIMITS.dataBytes / 1024} KiB: send the changed columns only, or leave data out.`,
      'too_large'
    );
  try {
    const result = await queue().submit({ target, report: parsed.data });
    metrics.ingestRequests.inc({ outcome: result.duplicates > 0 ? 'duplicate' : 'stored' });
    if (result.duplicates === 0)
      for (const r of parsed.data.results)
        if (!r.ok) metrics.countUploadError(target, r.table ?? '(unknown)', r.retryable ?? false);
    return Response.json(result);
  } catch (error) {
    if (error instanceof IngestQueueFullError) {
      const response = fail(
        429,
        'SYNCSCOPE_E_INGEST_BUSY',
        `SyncScope is storing ${error.pendingOperations} reported operations; retry in a second.`,
        'busy'
      );
      response.headers.set('retry-after', '1');
      return response;
    }
    return fail(
      503,
      'SYNCSCOPE_E_PG_UNREACHABLE',
      `The report could not be stored (send it again): ${(error as Error).message}`,
      'error'
    );
  } finally {
    metrics.queueOperations.set(queue().pendingOperations);
  }
}
