import 'server-only';
import { createHash, randomBytes } from 'node:crypto';
import {
  type ConsoleGrant,
  type ConsoleUser,
  USER_WITH_GRANTS
} from '@syncscope/core/console-users/console-users';
import { cookies, headers } from 'next/headers';
import { cache } from 'react';
import { consoleConfig } from '@/server/console-config';
import { opsPool } from '@/server/ops-pool';
import { requestOrigin } from '@/server/request-origin';

export const SESSION_COOKIE = 'syncscope_session';

export interface SignedInUser {
  id: string;
  email: string;
  /** Roles per target (or all targets); see roleOn. */
  grants: ConsoleGrant[];
}

const sha256 = (token: string) => createHash('sha256').update(token).digest();

/** A new session: a random token in an httpOnly, SameSite=Strict cookie; only its hash is stored. */
export async function startSession(user: ConsoleUser): Promise<void> {
  const token = randomBytes(32).toString('base64url');
  const hours = consoleConfig().SYNCSCOPE_SESSION_HOURS;
  await opsPool().query(
    `INSERT INTO syncscope.console_sessions (token_sha256, user_id, expires_at)
     VALUES ($1, $2, now() + make_interval(hours => $3))`,
    [sha256(token), user.id, hours]
  );
  (await cookies()).set(SESSION_COOKIE, token, {
    httpOnly: true,
    sameSite: 'strict',
    secure: await secureCookies(),
    path: '/',
    maxAge: hours * 3600
  });
}

export async function endSession(): Promise<void> {
  const jar = await cookies();
  const token = jar.get(SESSION_COOKIE)?.value;
  if (token)
    await opsPool().query('DELETE FROM syncscope.console_sessions WHERE token_sha256 = $1', [sha256(token)]);
  jar.delete(SESSION_COOKIE);
}

/** The signed-in user of this request, or null (expired, unknown or disabled). One query per request. */
export const currentUser = cache(async (): Promise<SignedInUser | null> => {
  const token = (await cookies()).get(SESSION_COOKIE)?.value;
  if (!token) return null;
  const { rows } = await opsPool().query<SignedInUser>(
    `SELECT ${USER_WITH_GRANTS} FROM syncscope.console_sessions s
     JOIN syncscope.console_users u ON u.id = s.user_id
     WHERE s.token_sha256 = $1 AND s.expires_at > now() AND NOT u.disabled`,
    [sha256(token)]
  );
  const user = rows[0];
  return user ? { id: user.id, email: user.email, grants: user.grants } : null;
});

/** `auto`: Secure when the browser spoke HTTPS, which only a trusted proxy's X-Forwarded-Proto can say. */
async function secureCookies(): Promise<boolean> {
  const setting = consoleConfig().SYNCSCOPE_COOKIE_SECURE;
  if (setting !== 'auto') return setting === 'always';
  return requestOrigin(await headers()).https;
}
