import type pg from 'pg';
import { SyncScopeError } from '../errors/index.ts';
import { DECOY_HASH, hashPassword, verifyPassword } from './password-hash.ts';

export const CONSOLE_ROLES = ['viewer', 'operator', 'admin'] as const;
export type ConsoleRole = (typeof CONSOLE_ROLES)[number];

/** What each role may do; checked on the server for every page, action and route. */
const RANK: Record<ConsoleRole, number> = { viewer: 0, operator: 1, admin: 2 };
export function roleAllows(role: ConsoleRole, needed: ConsoleRole): boolean {
  return RANK[role] >= RANK[needed];
}

export interface ConsoleUser {
  id: string;
  email: string;
  role: ConsoleRole;
  disabled: boolean;
  createdAt: string;
}

export const MIN_PASSWORD_LENGTH = 12;

type Queryable = Pick<pg.Pool, 'query'>;

function checkInput(email: string, role: string, password?: string): asserts role is ConsoleRole {
  if (!/^[^\s@]+@[^\s@]+$/.test(email))
    throw new SyncScopeError('SYNCSCOPE_E_USER_INVALID', `"${email}" is not an email address.`);
  if (!CONSOLE_ROLES.includes(role as ConsoleRole))
    throw new SyncScopeError(
      'SYNCSCOPE_E_USER_INVALID',
      `Role "${role}" does not exist: use ${CONSOLE_ROLES.join(', ')}.`
    );
  if (password !== undefined && password.length < MIN_PASSWORD_LENGTH)
    throw new SyncScopeError(
      'SYNCSCOPE_E_USER_INVALID',
      `The password is shorter than ${MIN_PASSWORD_LENGTH} characters; choose a longer one or let SyncScope generate one.`
    );
}

const USER_COLUMNS = 'id, email, role, disabled, created_at AS "createdAt"';

/** Adds a console user, or (upsert) resets the password and role of an existing one. */
export async function upsertConsoleUser(
  db: Queryable,
  input: { email: string; role: string; password: string }
): Promise<{ user: ConsoleUser; created: boolean }> {
  const email = input.email.trim().toLowerCase();
  checkInput(email, input.role, input.password);
  const hash = await hashPassword(input.password);
  const { rows } = await db.query<ConsoleUser & { created: boolean }>(
    `INSERT INTO syncscope.console_users (email, role, password_hash) VALUES ($1, $2, $3)
     ON CONFLICT (email) DO UPDATE SET role = EXCLUDED.role, password_hash = EXCLUDED.password_hash, disabled = false
     RETURNING ${USER_COLUMNS}, (xmax = 0) AS created`,
    [email, input.role, hash]
  );
  const { created, ...user } = rows[0]!;
  return { user, created };
}

export async function addConsoleUser(
  db: Queryable,
  input: { email: string; role: string; password: string }
): Promise<ConsoleUser> {
  const email = input.email.trim().toLowerCase();
  checkInput(email, input.role, input.password);
  const hash = await hashPassword(input.password);
  const { rows } = await db.query<ConsoleUser>(
    `INSERT INTO syncscope.console_users (email, role, password_hash) VALUES ($1, $2, $3)
     ON CONFLICT (email) DO NOTHING RETURNING ${USER_COLUMNS}`,
    [email, input.role, hash]
  );
  if (!rows[0])
    throw new SyncScopeError(
      'SYNCSCOPE_E_USER_INVALID',
      `A console user ${email} already exists; change their role with \`syncscope users set-role\`.`
    );
  return rows[0];
}

export async function listConsoleUsers(db: Queryable): Promise<ConsoleUser[]> {
  const { rows } = await db.query<ConsoleUser>(
    `SELECT ${USER_COLUMNS} FROM syncscope.console_users ORDER BY email`
  );
  return rows;
}

/** Changes a role; returns the previous one (for the audit entry), or null for an unknown email. */
export async function setConsoleUserRole(
  db: Queryable,
  email: string,
  role: string
): Promise<{ previous: ConsoleRole } | null> {
  checkInput(email.toLowerCase(), role);
  const { rows } = await db.query<{ previous: ConsoleRole }>(
    `UPDATE syncscope.console_users u SET role = $2 FROM syncscope.console_users old
     WHERE u.id = old.id AND u.email = $1 RETURNING old.role AS previous`,
    [email.trim().toLowerCase(), role]
  );
  return rows[0] ?? null;
}

/** The user for an email and password, or null; the same work is done for unknown emails. */
export async function checkCredentials(
  db: Queryable,
  email: string,
  password: string
): Promise<ConsoleUser | null> {
  const { rows } = await db.query<ConsoleUser & { passwordHash: string }>(
    `SELECT ${USER_COLUMNS}, password_hash AS "passwordHash" FROM syncscope.console_users WHERE email = $1`,
    [email.trim().toLowerCase()]
  );
  const found = rows[0];
  const ok = await verifyPassword(password, found?.passwordHash ?? DECOY_HASH);
  if (!found || !ok || found.disabled) return null;
  const { passwordHash: _hash, ...user } = found;
  return user;
}
