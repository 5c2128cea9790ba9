import 'server-only';
import { isSyncScopeError } from '@syncscope/core';
import {
  addConsoleUser,
  CONSOLE_ROLES,
  setConsoleUserRole
} from '@syncscope/core/console-users/console-users';
import { generatePassword } from '@syncscope/core/console-users/password-hash';
import { z } from 'zod';
import { authorizeRoute, errorResponse } from '@/features/auth/guard.server';
import { audit } from '@/server/audit';
import { opsPool } from '@/server/ops-pool';

const bodySchema = z.discriminatedUnion('action', [
  z.strictObject({ action: z.literal('add'), email: z.string(), role: z.enum(CONSOLE_ROLES) }),
  z.strictObject({ action: z.literal('set-role'), email: z.string(), role: z.enum(CONSOLE_ROLES) })
]);

/** POST /api/admin/users: add a user (password generated, shown once) or change a role. Admin only, audited. */
export async function handleManageUsers(request: Request): Promise<Response> {
  const auth = await authorizeRoute(request, 'admin');
  if ('response' in auth) return auth.response;
  const parsed = bodySchema.safeParse(await request.json().catch(() => null));
  if (!parsed.success)
    return errorResponse(
      400,
      'SYNCSCOPE_E_REQUEST_INVALID',
      parsed.error.issues.map((i) => i.message).join('; ')
    );
  const body = parsed.data;
  try {
    if (body.action === 'add') {
      const password = generatePassword();
      const user = await addConsoleUser(opsPool(), { email: body.email, role: body.role, password });
      await audit({
        actor: auth.user.email,
        action: 'user.added',
        subjectUser: user.email,
        details: { role: user.role }
      });
      return Response.json({ email: user.email, role: user.role, password });
    }
    if (body.email.toLowerCase() === auth.user.email && body.role !== 'admin')
      return errorResponse(
        400,
        'SYNCSCOPE_E_USER_INVALID',
        'You cannot remove your own admin role; ask another admin.'
      );
    const changed = await setConsoleUserRole(opsPool(), body.email, body.role);
    if (!changed) return errorResponse(404, 'SYNCSCOPE_E_USER_INVALID', `No console user ${body.email}.`);
    await audit({
      actor: auth.user.email,
      action: 'user.role_changed',
      subjectUser: body.email.toLowerCase(),
      details: { from: changed.previous, to: body.role }
    });
    return Response.json({ email: body.email.toLowerCase(), role: body.role });
  } catch (error) {
    if (isSyncScopeError(error)) return errorResponse(error.status, error.code, error.message);
    throw error;
  }
}
