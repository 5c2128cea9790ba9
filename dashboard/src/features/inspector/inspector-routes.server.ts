import 'server-only';
import { isSyncScopeError } from '@syncscope/core';
import { authorizeRoute, errorResponse } from '@/features/auth/guard.server';
import { listTargets } from '@/server/targets';
import {
  deleteInspectedDatabase,
  getInspectedDatabase,
  RETENTION_MINUTES,
  saveUpload
} from './inspector-store.server';

/**
 * POST /api/inspector?name=&target=&user=&retention= with the database file as the raw body (streamed
 * to disk, never buffered whole). Operators only: an exported database is a user's data. Audited in
 * the same transaction as the record.
 */
export async function handleInspectorUpload(request: Request): Promise<Response> {
  const auth = await authorizeRoute(request, '/api/inspector');
  if ('response' in auth) return auth.response;
  const params = new URL(request.url).searchParams;
  const retention = Number(params.get('retention') ?? 60);
  if (!(RETENTION_MINUTES as readonly number[]).includes(retention))
    return errorResponse(
      400,
      'SYNCSCOPE_E_REQUEST_INVALID',
      `retention must be one of ${RETENTION_MINUTES.join(', ')} minutes.`
    );
  const target = params.get('target') || null;
  // Without a target the file is compared with nothing, but it still holds a user's data: such an
  // inspection belongs to all targets.
  const denied = auth.deny(target);
  if (denied) return denied;
  if (target && !(await listTargets()).includes(target))
    return errorResponse(404, 'SYNCSCOPE_E_TARGET_UNKNOWN', `No target "${target}" in the targets file.`);
  if (!request.body)
    return errorResponse(400, 'SYNCSCOPE_E_REQUEST_INVALID', 'Send the database file as the request body.');
  try {
    const saved = await saveUpload({
      body: request.body,
      originalName: params.get('name') || 'client.db',
      uploadedBy: auth.user.email,
      target,
      userId: params.get('user') || null,
      retentionMinutes: retention
    });
    return Response.json({ id: saved.id }, { status: 201 });
  } catch (error) {
    if (isSyncScopeError(error)) return errorResponse(error.status, error.code, error.message);
    throw error;
  }
}

/** DELETE /api/inspector/:id: deletes the file now instead of at the end of its retention (audited). */
export async function handleInspectorDelete(request: Request, id: string): Promise<Response> {
  const auth = await authorizeRoute(request, '/api/inspector/[id]');
  if ('response' in auth) return auth.response;
  const record = await getInspectedDatabase(id);
  const denied = record && auth.deny(record.target);
  if (denied) return denied;
  return record && (await deleteInspectedDatabase(id, auth.user.email))
    ? Response.json({ deleted: id })
    : errorResponse(404, 'SYNCSCOPE_E_REQUEST_INVALID', `No inspected database ${id} (it may have expired).`);
}
