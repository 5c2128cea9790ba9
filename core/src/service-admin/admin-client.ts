/**
 * A typed client of the PowerSync service's admin API, with the target's `admin_url` and `admin_token`
 * (`Authorization: Bearer`). Every failure (no answer, refused token, an answer of another shape) is a
 * SyncScopeError SYNCSCOPE_E_ADMIN_API whose message says what to check; the token is never in it.
 */
import type { z } from 'zod';
import { SyncScopeError } from '../errors/index.ts';
import { urlWithoutPassword } from '../probe/tokens/hide-secrets.ts';
import {
  type CurrentRules,
  currentRulesResponseSchema,
  diagnosticsResponseSchema,
  type RulesValidation,
  type ServiceDiagnostics,
  validateRulesResponseSchema
} from './admin-schemas.ts';

export const ADMIN_API_TIMEOUT_MS = 10_000;

/** What the client needs of a target: its name (for messages) and the admin API it names. */
export interface AdminApiTarget {
  name: string;
  adminUrl?: string;
  adminToken?: string;
}

export interface AdminRequestOptions {
  fetchImpl?: typeof fetch;
  signal?: AbortSignal;
  timeoutMs?: number;
}

/** Whether the target names an admin API (both URL and token). */
export function hasAdminApi(target: AdminApiTarget): target is AdminApiTarget & {
  adminUrl: string;
  adminToken: string;
} {
  return Boolean(target.adminUrl && target.adminToken);
}

/** POST /api/admin/v1/diagnostics (body `{}`): replication state of the active and deploying rules. */
export function fetchDiagnostics(
  target: AdminApiTarget,
  options: AdminRequestOptions = {}
): Promise<ServiceDiagnostics> {
  return adminRequest(target, 'POST', '/api/admin/v1/diagnostics', diagnosticsResponseSchema, options).then(
    (body) => body.data
  );
}

/** GET /api/sync-rules/v1/current: the rules the service serves (`current`) and any reprocessing (`next`). */
export function fetchCurrentRules(
  target: AdminApiTarget,
  options: AdminRequestOptions = {}
): Promise<CurrentRules> {
  return adminRequest(target, 'GET', '/api/sync-rules/v1/current', currentRulesResponseSchema, options).then(
    (body) => body.data
  );
}

/**
 * POST /api/sync-rules/v1/validate with draft rules: the service's own parse of them. It checks no schema
 * (an unknown column is valid), so callers check the source themselves.
 */
export function validateRulesWithService(
  target: AdminApiTarget,
  content: string,
  options: AdminRequestOptions = {}
): Promise<RulesValidation> {
  return adminRequest(target, 'POST', '/api/sync-rules/v1/validate', validateRulesResponseSchema, {
    ...options,
    body: { content }
  });
}

async function adminRequest<T extends z.ZodType>(
  target: AdminApiTarget,
  method: 'GET' | 'POST',
  pathname: string,
  schema: T,
  options: AdminRequestOptions & { body?: unknown }
): Promise<z.infer<T>> {
  if (!hasAdminApi(target)) {
    throw new SyncScopeError(
      'SYNCSCOPE_E_ADMIN_API',
      `Target "${target.name}" has no admin API: set admin_url and admin_token in the targets file.`
    );
  }
  const url = new URL(pathname, target.adminUrl);
  const shown = `${method} ${urlWithoutPassword(url.toString())}`;
  const timeoutMs = options.timeoutMs ?? ADMIN_API_TIMEOUT_MS;
  const signals = [AbortSignal.timeout(timeoutMs), ...(options.signal ? [options.signal] : [])];
  const fail = (why: string) =>
    new SyncScopeError('SYNCSCOPE_E_ADMIN_API', `Target "${target.name}": ${shown} ${why}`);
  let response: Response;
  try {
    response = await (options.fetchImpl ?? fetch)(url, {
      method,
      headers: {
        authorization: `Bearer ${target.adminToken}`,
        accept: 'application/json',
        ...(method === 'POST' ? { 'content-type': 'application/json' } : {})
      },
      ...(method === 'POST' ? { body: JSON.stringify(options.body ?? {}) } : {}),
      signal: AbortSignal.any(signals)
    });
  } catch (error) {
    const reason =
      (error as Error).name === 'TimeoutError'
        ? `no answer in ${timeoutMs / 1000} s`
        : ((error as { cause?: Error }).cause?.message ?? (error as Error).message);
    throw fail(`failed: ${reason}. Check admin_url and that the service is running.`);
  }
  if (response.status === 401 || response.status === 403) {
    throw fail(
      `refused the admin token (HTTP ${response.status}); set admin_token to a token from the service's api.tokens.`
    );
  }
  const text = await response.text().catch(() => '');
  if (!response.ok) {
    throw fail(`answered HTTP ${response.status}: ${serviceErrorText(text)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw fail(`answered with something other than JSON: ${text.slice(0, 120)}`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw fail(
      `answered an unexpected shape (${issue?.path.join('.') || '(body)'}: ${issue?.message}); is admin_url a PowerSync service?`
    );
  }
  return parsed.data;
}

/** The service's `{"error":{"code","description"}}` as `PSYNC_Sxxxx: description`, else the body's start. */
function serviceErrorText(text: string): string {
  try {
    const { error } = JSON.parse(text) as { error?: { code?: string; description?: string } };
    if (error?.code) return `${error.code}: ${error.description ?? ''}`.trim();
  } catch {
    // not JSON: shown as it came
  }
  return text.slice(0, 300);
}
