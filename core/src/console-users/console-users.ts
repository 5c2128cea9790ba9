import type pg from 'pg';
import { SyncScopeError } from '../errors/index.ts';
import { DECOY_HASH, hashPassword, verifyPassword } from './password-hash.ts';

export const CONSOLE_ROLES = ['viewer', 'operator', 'admin'] as const;
export type ConsoleRole = (typeof CONSOLE_ROLES)[number];

/** What each role may do; checked on the server for every page, action and route. */
const RANK: Record<ConsoleRole, number> = { viewer: 0, operator: 1, admin: 2 };
export function roleAllows(role: ConsoleRole | null, needed: ConsoleRole): boolean {
  return role !== null && RANK[role] >= RANK[needed];
}

/** A role on one target, or on every target (`target: null`). */
export interface ConsoleGrant {
  target: string | null;
  role: ConsoleRole;
}

export interface ConsoleUser {
  id: string;
  email: string;
  disabled: boolean;
  createdAt: string;
  grants: ConsoleGrant[];
}

/** The user's role on `target`: the highest of their grants for it and for all targets, or null. */
export function roleOn(grants: readonly ConsoleGrant[], target: string): ConsoleRole | null {
  let best: ConsoleRole | null = null;
  for (const g of grants)
    if ((g.target === null || g.target === target) && !roleAllows(best, g.role)) best = g.role;
  return best;
}

/** The user's role on every target at once (an all-targets grant), or null. */
export function roleOnAllTargets(grants: readonly ConsoleGrant[]): ConsoleRole | null {
  return grants.find((g) => g.target === null)?.role ?? null;
}

/** Of `targets`, those the user holds at least `role` on. */
export function targetsAllowed(
  grants: readonly ConsoleGrant[],
  targets: readonly string[],
  role: ConsoleRole
): string[] {
  return targets.filter((t) => roleAllows(roleOn(grants, t), role));
}

/** Whether any grant (on some target or all) reaches `role`: enough to open a page that lists targets. */
export function hasRoleSomewhere(grants: readonly ConsoleGrant[], role: ConsoleRole): boolean {
  return grants.some((g) => roleAllows(g.role, role));
}

export const MIN_PASSWORD_LENGTH = 12;

export type Queryable = Pick<pg.Pool, 'query'>;

export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

export function checkRole(role: string): asserts role is ConsoleRole {
  if (!CONSOLE_ROLES.includes(role as ConsoleRole))
    throw new SyncScopeError(
      'SYNCSCOPE_E_USER_INVALID',
      `Role "${role}" does not exist: use ${CONSOLE_ROLES.join(', ')}.`
    );
}

function checkInput(email: string, role: string, password?: string): asserts role is ConsoleRole {
  if (!/^[^\s@]+@[^\s@]+$/.test(email))
    throw new SyncScopeError('SYNCSCOPE_E_USER_INVALID', `"${email}" is not an email address.`);
  checkRole(role);
  if (password !== undefined && password.length < MIN_PASSWORD_LENGTH)
    throw new SyncScopeError(
      'SYNCSCOPE_E_USER_INVALID',
      `The password is shorter than ${MIN_PASSWORD_LENGTH} characters; choose a longer one or let SyncScope generate one.`
    );
}

/** A user's columns with their grants (all-targets first, then by target). */
export const USER_WITH_GRANTS = `u.id, u.email, u.disabled, u.created_at AS "createdAt",
  COALESCE((SELECT jsonb_agg(jsonb_build_object('target', g.target, 'role', g.role)
                             ORDER BY g.target NULLS FIRST)
            FROM syncscope.console_grants g WHERE g.user_id = u.id), '[]') AS grants`;

export async function listConsoleUsers(db: Queryable): Promise<ConsoleUser[]> {
  const { rows } = await db.query<ConsoleUser>(
    `SELECT ${USER_WITH_GRANTS} FROM syncscope.console_users u ORDER BY u.email`
  );
  return rows;
}

/** The user for an email and password, or null; the same work is done for unknown emails. */
export async function checkCredentials(
  db: Queryable,
  email: string,
  password: string
): Promise<ConsoleUser | null> {
  const { rows } = await db.query<ConsoleUser & { passwordHash: string }>(
    `SELECT ${USER_WITH_GRANTS}, u.password_hash AS "passwordHash" FROM syncscope.console_users u WHERE u.email = $1`,
    [normaliseEmail(email)]
  );
  const found = rows[0];
  const ok = await verifyPassword(password, found?.passwordHash ?? DECOY_HASH);
  if (!found || !ok || found.disabled) return null;
  const { passwordHash: _hash, ...user } = found;
  return user;
}

export { checkInput as checkUserInput, hashPassword };
