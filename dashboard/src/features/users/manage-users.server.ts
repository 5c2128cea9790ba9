import 'server-only';
import { isSyncScopeError } from '@syncscope/core';
import {
  addConsoleUser,
  grantConsoleRole,
  revokeConsoleRole,
  setConsoleUserRole
} from '@syncscope/core/console-users/console-grants';
import { CONSOLE_ROLES } from '@syncscope/core/console-users/console-users';
import { generatePassword } from '@syncscope/core/console-users/password-hash';
import { z } from 'zod';
import { authorizeRoute, errorResponse } from '@/features/auth/guard.server';
import { opsPool } from '@/server/ops-pool';

const email = z.string().trim().toLowerCase();
/** A target name, or null for all targets. */
const target = z.string().min(1).max(200).nullable();
const bodySchema = z.discriminatedUnion('action', [
  z.strictObject({
    action: z.literal('add'),
    email,
    role: z.enum(CONSOLE_ROLES),
    target: target.default(null)
  }),
  z.strictObject({ action: z.literal('set-role'), email, role: z.enum(CONSOLE_ROLES) }),
  z.strictObject({ action: z.literal('grant'), email, role: z.enum(CONSOLE_ROLES), target }),
  z.strictObject({ action: z.literal('revoke'), email, target })
]);
type Body = z.infer<typeof bodySchema>;

/** Whether the change would take the acting admin's own all-targets admin away (nobody could undo it). */
function demotesSelf(body: Body, self: string): boolean {
  if (body.email !== self || body.action === 'add') return false;
  if (body.action === 'set-role') return body.role !== 'admin';
  return body.target === null && (body.action === 'revoke' || body.role !== 'admin');
}

/**
 * POST /api/admin/users: add a user (password generated, shown once), grant or revoke a role on a
 * target or all targets, or set one role on all targets. Admins of all targets only; every change is
 * audited in the same transaction as the change (core/src/console-users/console-grants.ts).
 */
export async function handleManageUsers(request: Request): Promise<Response> {
  const auth = await authorizeRoute(request, '/api/admin/users');
  if ('response' in auth) return auth.response;
  const parsed = bodySchema.safeParse(await request.json().catch(() => null));
  if (!parsed.success)
    return errorResponse(
      400,
      'SYNCSCOPE_E_REQUEST_INVALID',
      parsed.error.issues.map((i) => i.message).join('; ')
    );
  const body = parsed.data;
  if (demotesSelf(body, auth.user.email))
    return errorResponse(
      400,
      'SYNCSCOPE_E_USER_INVALID',
      'You cannot remove your own admin role; ask another admin.'
    );
  const actor = auth.user.email;
  try {
    switch (body.action) {
      case 'add': {
        const password = generatePassword();
        const user = await addConsoleUser(opsPool(), { ...body, password }, actor);
        return Response.json({ email: user.email, grants: user.grants, password });
      }
      case 'set-role': {
        const changed = await setConsoleUserRole(opsPool(), body.email, body.role, actor);
        if (!changed) return errorResponse(404, 'SYNCSCOPE_E_USER_INVALID', `No console user ${body.email}.`);
        return Response.json({ email: body.email, grants: [{ target: null, role: body.role }] });
      }
      case 'grant':
        return Response.json({ email: body.email, ...(await grantConsoleRole(opsPool(), body, actor)) });
      case 'revoke':
        return Response.json({ email: body.email, ...(await revokeConsoleRole(opsPool(), body, actor)) });
    }
  } catch (error) {
    if (isSyncScopeError(error)) return errorResponse(error.status, error.code, error.message);
    throw error;
  }
}
