import 'server-only';
import { checkCredentials } from '@syncscope/core/console-users/console-users';
import { z } from 'zod';
import { audit } from '@/server/audit';
import { consoleConfig } from '@/server/console-config';
import { opsPool } from '@/server/ops-pool';
import { errorResponse } from './guard.server';
import { clearLoginFailures, loginRetryAfterSeconds, recordLoginFailure } from './login-rate-limit.server';
import { startSession } from './session.server';

const loginSchema = z.object({
  email: z.string().trim().toLowerCase().max(320),
  password: z.string().max(1024)
});

/** POST /api/auth/login: checks the password (scrypt), rate limited per email and address. */
export async function handleLogin(request: Request): Promise<Response> {
  const parsed = loginSchema.safeParse(await request.json().catch(() => null));
  if (!parsed.success)
    return errorResponse(400, 'SYNCSCOPE_E_REQUEST_INVALID', 'Send {"email", "password"}.');
  const { email, password } = parsed.data;
  // Only a trusted proxy's X-Forwarded-For names the client; without one every client would share one
  // address, and a single attacker could lock everybody out, so only the per-email limit applies.
  const address =
    consoleConfig().SYNCSCOPE_TRUST_PROXY === 'true'
      ? request.headers.get('x-forwarded-for')?.split(',')[0]?.trim() || null
      : null;
  const wait = await loginRetryAfterSeconds(email, address);
  if (wait > 0) {
    const response = errorResponse(
      429,
      'SYNCSCOPE_E_AUTH_RATE_LIMITED',
      `Too many failed sign-ins; try again in ${wait} s.`
    );
    response.headers.set('retry-after', String(wait));
    return response;
  }
  const user = await checkCredentials(opsPool(), email, password);
  if (!user) {
    await recordLoginFailure(email, address);
    return errorResponse(401, 'SYNCSCOPE_E_AUTH_REQUIRED', 'Wrong email or password.');
  }
  await clearLoginFailures(email);
  await startSession(user);
  await audit({ actor: user.email, action: 'console.signed_in', details: { role: user.role } });
  return Response.json({ ok: true, role: user.role });
}
