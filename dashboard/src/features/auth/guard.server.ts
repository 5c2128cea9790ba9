import 'server-only';
import {
  type ConsoleRole,
  hasRoleSomewhere,
  roleAllows,
  roleOn,
  roleOnAllTargets,
  targetsAllowed
} from '@syncscope/core/console-users/console-users';
import { headers } from 'next/headers';
import { redirect } from 'next/navigation';
import { NextResponse } from 'next/server';
import { type ApiPath, type PagePath, type RouteRule, ruleOf } from '@/server/route-policy';
import { currentUser, type SignedInUser } from './session.server';

/** What the signed-in user may do under one route's rule. */
export interface Access {
  user: SignedInUser;
  role: ConsoleRole;
  /** Whether the user holds the route's role on `target` (an all-targets grant counts). */
  allows(target: string): boolean;
  /** Of `targets`, the ones the user holds the route's role on: what lists are filtered to. */
  allowed(targets: readonly string[]): string[];
  /** Whether the user holds the route's role on every target (needed for data not tied to one). */
  allowsAllTargets: boolean;
  /**
   * What SQL filters lists to: null for every target (also ones since removed from the targets file),
   * else the targets granted with the role (`target = ANY($n)`).
   */
  scope: string[] | null;
}

function accessFor(user: SignedInUser, role: ConsoleRole): Access {
  return {
    user,
    role,
    allows: (target) => roleAllows(roleOn(user.grants, target), role),
    allowed: (targets) => targetsAllowed(user.grants, targets, role),
    allowsAllTargets: roleAllows(roleOnAllTargets(user.grants), role),
    scope: roleAllows(roleOnAllTargets(user.grants), role)
      ? null
      : user.grants.flatMap((g) => (g.target !== null && roleAllows(g.role, role) ? [g.target] : []))
  };
}

/** Whether the user may open the route at all: the role on all targets, or on at least one. */
function entitled(user: SignedInUser, rule: RouteRule & { access: ConsoleRole }): boolean {
  return rule.target === 'all'
    ? roleAllows(roleOnAllTargets(user.grants), rule.access)
    : hasRoleSomewhere(user.grants, rule.access);
}

function roleRule(path: string, method: string): RouteRule & { access: ConsoleRole } {
  const rule = ruleOf(path as PagePath, method);
  if (!rule || !['viewer', 'operator', 'admin'].includes(rule.access))
    throw new Error(`route-policy: ${method} ${path} has no role rule`);
  return rule as RouteRule & { access: ConsoleRole };
}

/** Whether the route table lets the user open the page (for links; the page itself checks again). */
export function mayOpen(user: SignedInUser, path: PagePath): boolean {
  const rule = ruleOf(path, 'GET');
  if (rule?.access === 'public') return true;
  return entitled(user, roleRule(path, 'GET'));
}

/** Any signed-in user (the console's layout), else to the sign-in page. */
export async function requireSignedIn(): Promise<SignedInUser> {
  const user = await currentUser();
  if (!user) {
    const path = (await headers()).get('x-syncscope-path') ?? '/';
    redirect(`/login?next=${encodeURIComponent(path)}`);
  }
  return user;
}

function forbidden(role: ConsoleRole, target?: string): never {
  redirect(`/forbidden?${new URLSearchParams({ needs: role, ...(target ? { target } : {}) })}`);
}

/**
 * For pages: the user's access under the page's rule in the route table; signed out → the sign-in
 * page, lacking the role → /forbidden. `requireTarget` does the same for the target the page shows
 * (null: data of no one target, which needs the role on all targets).
 */
export async function requirePage(
  path: PagePath
): Promise<Access & { requireTarget(target: string | null): void }> {
  const rule = roleRule(path, 'GET');
  const user = await requireSignedIn();
  if (!entitled(user, rule)) forbidden(rule.access);
  const access = accessFor(user, rule.access);
  return {
    ...access,
    requireTarget(target) {
      if (target === null ? !access.allowsAllTargets : !access.allows(target))
        forbidden(rule.access, target ?? 'all targets');
    }
  };
}

export function errorResponse(status: number, code: string, message: string): NextResponse {
  return NextResponse.json(
    { error: { code, message } },
    { status, headers: { 'cache-control': 'no-store' } }
  );
}

/** `where`: on all targets, on any target, on target "x". */
function roleMissing(access: Access, where: string): NextResponse {
  return errorResponse(
    403,
    'SYNCSCOPE_E_AUTH_FORBIDDEN',
    `This needs the ${access.role} role ${where}; ask an admin (\`syncscope users grant\`).`
  );
}

/**
 * For route handlers: the user's access under the route's rule, or the 401/403 response to send.
 * `deny(target)` is the 403 for a target the user lacks the role on, or null. (Cross-site requests
 * never get here: the proxy refuses them for every route.)
 */
export async function authorizeRoute(
  request: Request,
  path: ApiPath
): Promise<
  | { access: Access; user: SignedInUser; deny(target: string | null): NextResponse | null }
  | { response: NextResponse }
> {
  const rule = roleRule(path, request.method);
  const user = await currentUser();
  if (!user)
    return { response: errorResponse(401, 'SYNCSCOPE_E_AUTH_REQUIRED', 'Sign in first: no valid session.') };
  const access = accessFor(user, rule.access);
  if (!entitled(user, rule))
    return { response: roleMissing(access, rule.target === 'all' ? 'on all targets' : 'on any target') };
  const deny = (target: string | null) => {
    if (target === null) return access.allowsAllTargets ? null : roleMissing(access, 'on all targets');
    return access.allows(target) ? null : roleMissing(access, `on target "${target}"`);
  };
  return { access, user, deny };
}
