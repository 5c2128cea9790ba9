import 'server-only';
import { createHash } from 'node:crypto';
import { isSyncScopeError } from '@syncscope/core';
import { roleAllows, roleOn } from '@syncscope/core/console-users/console-users';
import type { ProbeTarget } from '@syncscope/core/probe/probe-types';
import { runDryRun, validateDraft } from '@syncscope/core/rules-insight/dry-run/run-dry-run';
import type { z } from 'zod';
import { authorizeRoute, errorResponse } from '@/features/auth/guard.server';
import { PAGE_STATEMENT_TIMEOUT_MS } from '@/features/sync-rules/rules-insight.server';
import { userLabels } from '@/features/user-labels/user-labels.server';
import { audit } from '@/server/audit';
import { readCappedBody } from '@/server/read-capped-body';
import type { ApiPath } from '@/server/route-policy';
import { listTargets, loadTarget } from '@/server/targets';
import {
  DRY_RUN_LIMITS,
  draftBytes,
  draftTooLargeMessage,
  type RunDryRunRequest,
  runDryRunRequestSchema,
  validateDraftRequestSchema
} from './dry-run-request';

type Outcome<T> = { ok: true; value: T } | { ok: false; response: Response };

/** The body as `schema` reads it; or the 400/413 to send. */
async function parseDraftRequest<S extends typeof validateDraftRequestSchema | typeof runDryRunRequestSchema>(
  request: Request,
  schema: S
): Promise<Outcome<z.infer<S>>> {
  const fail = (status: number, code: string, message: string) => ({
    ok: false as const,
    response: errorResponse(status, code, message)
  });
  const body = await readCappedBody(request, DRY_RUN_LIMITS.bodyBytes);
  if (body === null)
    return fail(413, 'SYNCSCOPE_E_REQUEST_TOO_LARGE', draftTooLargeMessage(DRY_RUN_LIMITS.bodyBytes));
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (error) {
    return fail(400, 'SYNCSCOPE_E_REQUEST_INVALID', `The body is not JSON: ${(error as Error).message}.`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success)
    return fail(
      400,
      'SYNCSCOPE_E_REQUEST_INVALID',
      parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')
    );
  return { ok: true, value: parsed.data as z.infer<S> };
}

/**
 * The signed-in user's access to the route and to the request's target, then the draft's size: the
 * parsed request, or the 401/403/400/404/413 to send.
 */
async function authorizeDraftRequest<
  S extends typeof validateDraftRequestSchema | typeof runDryRunRequestSchema
>(
  request: Request,
  path: ApiPath,
  schema: S
): Promise<Outcome<{ input: z.infer<S>; actor: string; isAdmin: boolean; target: ProbeTarget }>> {
  const auth = await authorizeRoute(request, path);
  if ('response' in auth) return { ok: false, response: auth.response };
  const parsed = await parseDraftRequest(request, schema);
  if (!parsed.ok) return parsed;
  const name = parsed.value.target;
  const denied = auth.deny(name);
  if (denied) return { ok: false, response: denied };
  if (!(await listTargets()).includes(name))
    return {
      ok: false,
      response: errorResponse(404, 'SYNCSCOPE_E_TARGET_UNKNOWN', `No target "${name}" in the targets file.`)
    };
  const bytes = draftBytes(parsed.value.draft);
  if (bytes > DRY_RUN_LIMITS.draftBytes)
    return {
      ok: false,
      response: errorResponse(413, 'SYNCSCOPE_E_REQUEST_TOO_LARGE', draftTooLargeMessage(bytes))
    };
  return {
    ok: true,
    value: {
      input: parsed.value,
      actor: auth.user.email,
      isAdmin: roleAllows(roleOn(auth.user.grants, name), 'admin'),
      target: await loadTarget(name)
    }
  };
}

/** A thrown error as the API's error shape: the code and message, never a stack trace. */
function failure(error: unknown): Response {
  if (isSyncScopeError(error)) return errorResponse(error.status, error.code, error.message);
  return errorResponse(
    502,
    'SYNCSCOPE_E_PG_UNREACHABLE',
    `The dry run could not read the source: ${(error as Error).message}`
  );
}

/**
 * POST /api/rules/dry-run/validate {target, draft}: the draft's problems (YAML, the rules library,
 * the service's validate endpoint when the target has an admin API, the live source's schema), for
 * the editor's inline diagnostics. Reads only the source's catalog, so it is not audited.
 */
export async function handleValidateDraft(request: Request): Promise<Response> {
  const authorized = await authorizeDraftRequest(
    request,
    '/api/rules/dry-run/validate',
    validateDraftRequestSchema
  );
  if (!authorized.ok) return authorized.response;
  const { input, target } = authorized.value;
  try {
    const problems = await validateDraft(target, input.draft, {
      statementTimeoutMs: PAGE_STATEMENT_TIMEOUT_MS,
      signal: request.signal
    });
    return Response.json({ problems }, { headers: { 'cache-control': 'no-store' } });
  } catch (error) {
    return failure(error);
  }
}

/** Targets with a dry run under way in this console process: one at a time each, it reads every rule table. */
const running = new Set<string>();

/**
 * POST /api/rules/dry-run {target, draft, users}: the DryRunReport. Operators choose all users or a
 * sample; choosing users by SQL runs the caller's query on the source, so it needs the admin role on
 * the target. Audited (`rules.dry_run`) before the source is read.
 */
export async function handleRunDryRun(request: Request): Promise<Response> {
  const authorized = await authorizeDraftRequest(request, '/api/rules/dry-run', runDryRunRequestSchema);
  if (!authorized.ok) return authorized.response;
  const { input, actor, isAdmin, target } = authorized.value;
  if (input.users.kind === 'query' && !isAdmin)
    return errorResponse(
      403,
      'SYNCSCOPE_E_AUTH_FORBIDDEN',
      `Choosing users by SQL needs the admin role on target "${target.name}": it runs your query on the source. Choose all users or a sample, or ask an admin.`
    );
  if (running.has(target.name))
    return errorResponse(
      429,
      'SYNCSCOPE_E_DRY_RUN_BUSY',
      `A dry run of target "${target.name}" is already running; run yours when it has finished.`
    );
  running.add(target.name);
  try {
    // No read without its entry: when the audit write fails the request fails (500) before the source is read.
    await audit({
      actor,
      action: 'rules.dry_run',
      target: target.name,
      details: {
        users: input.users,
        draftBytes: draftBytes(input.draft),
        draftSha256: createHash('sha256').update(input.draft).digest('hex')
      }
    });
    return await dryRunResponse(target, input, request.signal);
  } finally {
    running.delete(target.name);
  }
}

async function dryRunResponse(
  target: ProbeTarget,
  input: RunDryRunRequest,
  signal: AbortSignal
): Promise<Response> {
  try {
    const report = await runDryRun(target, input.draft, {
      // `all` is the default; the library names where the users come from.
      ...(input.users.kind === 'all' ? {} : { users: input.users }),
      statementTimeoutMs: PAGE_STATEMENT_TIMEOUT_MS,
      signal
    });
    const shown = report.users.changed.slice(0, DRY_RUN_LIMITS.usersShown);
    const labelOf = await userLabels(shown.map((u) => ({ target: target.name, userId: u.userId })));
    const labels = Object.fromEntries(
      shown.flatMap((u) => {
        const label = labelOf(target.name, u.userId);
        return label ? [[u.userId, label]] : [];
      })
    );
    return Response.json({ report, labels }, { headers: { 'cache-control': 'no-store' } });
  } catch (error) {
    return failure(error);
  }
}
