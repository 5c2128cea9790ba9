import 'server-only';
import { checkCredentials } from '@syncscope/core/console-users/console-users';
import { throttleBucket } from '@syncscope/core/net/trusted-proxies';
import { z } from 'zod';
import { audit } from '@/server/audit';
import { opsPool } from '@/server/ops-pool';
import { requestOrigin } from '@/server/request-origin';
import { errorResponse } from './guard.server';
import { beginLoginAttempt, clearLoginFailures, forgetOldLoginFailures } from './login-rate-limit.server';
import { safeNextPath } from './safe-next';
import { startSession } from './session.server';

const loginSchema = z.object({
  email: z.string().trim().toLowerCase().max(320),
  password: z.string().max(1024),
  next: z.unknown().optional()
});

/** The sign-in form posts url-encoded fields (with or without JavaScript); API clients may send JSON. */
async function readFields(request: Request): Promise<unknown> {
  const type = request.headers.get('content-type') ?? '';
  if (type.startsWith('application/x-www-form-urlencoded') || type.startsWith('multipart/form-data'))
    return Object.fromEntries((await request.formData().catch(() => new FormData())).entries());
  return request.json().catch(() => null);
}

type Attempt =
  | { ok: true }
  | { ok: false; status: number; code: string; message: string; error: string; wait?: number };

/**
 * POST /api/auth/login. A browser's plain form post (no JavaScript) is answered with a 303 to the
 * validated `next`, or back to /login with the error and `next`, never the credentials; a request that
 * accepts JSON (the hydrated form's fetch, API clients) gets JSON. Throttled by backoff per email and
 * client address (login-rate-limit.server.ts).
 */
export async function handleLogin(request: Request): Promise<Response> {
  const fields = await readFields(request);
  const next = safeNextPath((fields as { next?: unknown } | null)?.next ?? '/');
  const attempt = await signIn(request, fields);
  const json =
    (request.headers.get('accept') ?? '').includes('application/json') ||
    (request.headers.get('content-type') ?? '').startsWith('application/json');
  if (json) {
    if (attempt.ok) return Response.json({ ok: true, next });
    const response = errorResponse(attempt.status, attempt.code, attempt.message);
    if (attempt.wait) response.headers.set('retry-after', String(attempt.wait));
    return response;
  }
  const back = attempt.ok
    ? null
    : new URLSearchParams({
        error: attempt.error,
        ...(attempt.wait ? { wait: String(attempt.wait) } : {}),
        next
      });
  return new Response(null, {
    status: 303,
    headers: { location: back ? `/login?${back}` : next, 'cache-control': 'no-store' }
  });
}

async function signIn(request: Request, fields: unknown): Promise<Attempt> {
  const parsed = loginSchema.safeParse(fields);
  if (!parsed.success)
    return {
      ok: false,
      status: 400,
      code: 'SYNCSCOPE_E_REQUEST_INVALID',
      message: 'Send email and password.',
      error: 'invalid'
    };
  const { email, password } = parsed.data;
  const client = requestOrigin(request.headers).clientAddress;
  const address = client === null ? null : throttleBucket(client);
  const started = await beginLoginAttempt(email, address);
  if ('wait' in started) {
    const { wait } = started;
    return {
      ok: false,
      status: 429,
      code: 'SYNCSCOPE_E_AUTH_RATE_LIMITED',
      message: `Too many failed sign-ins; try again in ${wait} s.`,
      error: 'throttled',
      wait
    };
  }
  const user = await checkCredentials(opsPool(), email, password);
  if (!user) {
    await forgetOldLoginFailures(address);
    return {
      ok: false,
      status: 401,
      code: 'SYNCSCOPE_E_AUTH_REQUIRED',
      message: 'Wrong email or password.',
      error: 'wrong'
    };
  }
  await clearLoginFailures(email, address);
  await startSession(user);
  await audit({ actor: user.email, action: 'console.signed_in', details: { grants: user.grants } });
  return { ok: true };
}
