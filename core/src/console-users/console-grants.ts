import type pg from 'pg';
import { SyncScopeError } from '../errors/index.ts';
import { appendAudit } from '../ops-db/ops-database.ts';
import {
  type ConsoleGrant,
  type ConsoleRole,
  type ConsoleUser,
  checkRole,
  checkUserInput,
  hashPassword,
  normaliseEmail,
  USER_WITH_GRANTS
} from './console-users.ts';

/**
 * Every change to who may do what is written together with its audit entry in one transaction: a change
 * is never left unaudited, and an audit entry never describes a change that rolled back.
 */
async function inTransaction<T>(pool: pg.Pool, body: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await body(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

/** The user's id and grants, the row locked until the transaction ends; null for an unknown email. */
async function lockUser(db: pg.PoolClient, email: string): Promise<ConsoleUser | null> {
  const { rows } = await db.query<{ id: string }>(
    'SELECT id FROM syncscope.console_users WHERE email = $1 FOR UPDATE',
    [email]
  );
  if (!rows[0]) return null;
  const full = await db.query<ConsoleUser>(
    `SELECT ${USER_WITH_GRANTS} FROM syncscope.console_users u WHERE u.id = $1`,
    [rows[0].id]
  );
  return full.rows[0]!;
}

function unknownUser(email: string): SyncScopeError {
  return new SyncScopeError(
    'SYNCSCOPE_E_USER_INVALID',
    `No console user ${email}; add them with \`syncscope users add\`.`
  );
}

async function putGrant(db: pg.PoolClient, userId: string, target: string | null, role: ConsoleRole) {
  await db.query(
    `INSERT INTO syncscope.console_grants (user_id, target, role) VALUES ($1, $2, $3)
     ON CONFLICT (user_id, target) DO UPDATE SET role = EXCLUDED.role, granted_at = now()`,
    [userId, target, role]
  );
}

export interface NewConsoleUser {
  email: string;
  role: string;
  password: string;
  /** The one target the role is for; all targets when absent. */
  target?: string | null;
}

/** Adds a console user with one grant (audited `user.added`); an existing email is refused. */
export async function addConsoleUser(
  pool: pg.Pool,
  input: NewConsoleUser,
  actor: string
): Promise<ConsoleUser> {
  const email = normaliseEmail(input.email);
  checkUserInput(email, input.role, input.password);
  const hash = await hashPassword(input.password);
  const target = input.target ?? null;
  return inTransaction(pool, async (db) => {
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO syncscope.console_users (email, password_hash) VALUES ($1, $2)
       ON CONFLICT (email) DO NOTHING RETURNING id`,
      [email, hash]
    );
    if (!rows[0])
      throw new SyncScopeError(
        'SYNCSCOPE_E_USER_INVALID',
        `A console user ${email} already exists; change their roles with \`syncscope users grant\`.`
      );
    await putGrant(db, rows[0].id, target, input.role as ConsoleRole);
    await appendAudit(db, {
      actor,
      action: 'user.added',
      subjectUser: email,
      ...(target ? { target } : {}),
      details: { role: input.role, target }
    });
    return (await lockUser(db, email))!;
  });
}

/**
 * Adds a user or resets an existing one's password, enabling them and replacing their grants with one
 * all-targets grant of `role` (the demo's accounts at every start); audited as `user.reset`.
 */
export async function upsertConsoleUser(
  pool: pg.Pool,
  input: { email: string; role: string; password: string },
  actor: string
): Promise<{ user: ConsoleUser; created: boolean }> {
  const email = normaliseEmail(input.email);
  checkUserInput(email, input.role, input.password);
  const hash = await hashPassword(input.password);
  return inTransaction(pool, async (db) => {
    const { rows } = await db.query<{ id: string; created: boolean }>(
      `INSERT INTO syncscope.console_users (email, password_hash) VALUES ($1, $2)
       ON CONFLICT (email) DO UPDATE SET password_hash = EXCLUDED.password_hash, disabled = false
       RETURNING id, (xmax = 0) AS created`,
      [email, hash]
    );
    const { id, created } = rows[0]!;
    const before = (await lockUser(db, email))!.grants;
    await db.query('DELETE FROM syncscope.console_grants WHERE user_id = $1', [id]);
    await putGrant(db, id, null, input.role as ConsoleRole);
    await appendAudit(db, {
      actor,
      action: created ? 'user.added' : 'user.reset',
      subjectUser: email,
      details: { role: input.role, target: null, ...(created ? {} : { from: before }) }
    });
    return { user: (await lockUser(db, email))!, created };
  });
}

/**
 * `set-role`: the user's grants become one all-targets grant of `role` (audited `user.role_changed` with
 * the grants it replaced); null for an unknown email.
 */
export async function setConsoleUserRole(
  pool: pg.Pool,
  email: string,
  role: string,
  actor: string
): Promise<{ previous: ConsoleGrant[] } | null> {
  checkRole(role);
  const normalised = normaliseEmail(email);
  return inTransaction(pool, async (db) => {
    const user = await lockUser(db, normalised);
    if (!user) return null;
    await db.query('DELETE FROM syncscope.console_grants WHERE user_id = $1', [user.id]);
    await putGrant(db, user.id, null, role);
    await appendAudit(db, {
      actor,
      action: 'user.role_changed',
      subjectUser: normalised,
      details: { from: user.grants, to: [{ target: null, role }] }
    });
    return { previous: user.grants };
  });
}

/** Grants `role` on one target (or all: `target` null), replacing the user's grant for that scope. */
export async function grantConsoleRole(
  pool: pg.Pool,
  input: { email: string; role: string; target: string | null },
  actor: string
): Promise<{ previous: ConsoleRole | null }> {
  checkRole(input.role);
  const role = input.role;
  const email = normaliseEmail(input.email);
  return inTransaction(pool, async (db) => {
    const user = await lockUser(db, email);
    if (!user) throw unknownUser(email);
    const previous = user.grants.find((g) => g.target === input.target)?.role ?? null;
    await putGrant(db, user.id, input.target, role);
    await appendAudit(db, {
      actor,
      action: 'user.role_granted',
      subjectUser: email,
      ...(input.target ? { target: input.target } : {}),
      details: { role, target: input.target, from: previous }
    });
    return { previous };
  });
}

/**
 * Removes the user's grant for one target (or the all-targets grant); refused when there is none, or
 * when `role` is given and the grant is another role.
 */
export async function revokeConsoleRole(
  pool: pg.Pool,
  input: { email: string; target: string | null; role?: string },
  actor: string
): Promise<{ revoked: ConsoleRole }> {
  if (input.role !== undefined) checkRole(input.role);
  const email = normaliseEmail(input.email);
  return inTransaction(pool, async (db) => {
    const user = await lockUser(db, email);
    if (!user) throw unknownUser(email);
    const { rows } = await db.query<{ role: ConsoleRole }>(
      `DELETE FROM syncscope.console_grants
       WHERE user_id = $1 AND target IS NOT DISTINCT FROM $2 AND ($3::text IS NULL OR role = $3)
       RETURNING role`,
      [user.id, input.target, input.role ?? null]
    );
    if (!rows[0]) {
      const scope = input.target === null ? 'for all targets' : `on target "${input.target}"`;
      throw new SyncScopeError(
        'SYNCSCOPE_E_USER_INVALID',
        `${email} has no ${input.role ? `${input.role} ` : ''}grant ${scope}; \`syncscope users list\` shows their grants.`
      );
    }
    await appendAudit(db, {
      actor,
      action: 'user.role_revoked',
      subjectUser: email,
      ...(input.target ? { target: input.target } : {}),
      details: { role: rows[0].role, target: input.target }
    });
    return { revoked: rows[0].role };
  });
}
