import 'server-only';
import { type ConsoleRole, roleAllows } from '@syncscope/core/console-users/console-users';
import { headers } from 'next/headers';
import { redirect } from 'next/navigation';
import { NextResponse } from 'next/server';
import { currentUser, type SignedInUser } from './session.server';

/** For pages: the signed-in user with at least `role`; otherwise to the sign-in page or a 403 page. */
export async function requirePageUser(role: ConsoleRole = 'viewer'): Promise<SignedInUser> {
  const user = await currentUser();
  if (!user) {
    const path = (await headers()).get('x-syncscope-path') ?? '/';
    redirect(`/login?next=${encodeURIComponent(path)}`);
  }
  if (!roleAllows(user.role, role)) redirect(`/forbidden?needs=${role}`);
  return user;
}

export function errorResponse(status: number, code: string, message: string): NextResponse {
  return NextResponse.json(
    { error: { code, message } },
    { status, headers: { 'cache-control': 'no-store' } }
  );
}

/**
 * For route handlers: the user with at least `role`, or the 401/403 response to send. Requests that
 * change state must come from this origin (the SameSite=Strict cookie already stops most cross-site
 * requests; the Origin check covers the rest).
 */
export async function authorizeRoute(
  request: Request,
  role: ConsoleRole
): Promise<{ user: SignedInUser } | { response: NextResponse }> {
  if (request.method !== 'GET' && request.method !== 'HEAD' && !sameOrigin(request))
    return { response: errorResponse(403, 'SYNCSCOPE_E_AUTH_FORBIDDEN', 'Cross-origin request refused.') };
  const user = await currentUser();
  if (!user)
    return { response: errorResponse(401, 'SYNCSCOPE_E_AUTH_REQUIRED', 'Sign in first: no valid session.') };
  if (!roleAllows(user.role, role))
    return {
      response: errorResponse(
        403,
        'SYNCSCOPE_E_AUTH_FORBIDDEN',
        `Your role (${user.role}) may not do this; it needs ${role}. Ask an admin.`
      )
    };
  return { user };
}

function sameOrigin(request: Request): boolean {
  const origin = request.headers.get('origin');
  if (!origin) return true; // not a browser form/fetch (curl, tests); the cookie is still required
  const host = request.headers.get('x-forwarded-host') ?? request.headers.get('host');
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}
