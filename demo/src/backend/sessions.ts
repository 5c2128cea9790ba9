import { randomBytes } from 'node:crypto';

export const SESSION_COOKIE = 'demo_session';
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;

/** Opaque session tokens kept in memory: the demo backend's simple dev login. */
export class SessionStore {
  private readonly sessions = new Map<string, { userId: string; expiresAt: number }>();

  create(userId: string): string {
    // Expired sessions are otherwise only dropped when presented: sweep them so logins cannot grow
    // the map without bound.
    if (this.sessions.size >= 1_000) {
      const now = Date.now();
      for (const [token, session] of this.sessions) if (session.expiresAt < now) this.sessions.delete(token);
    }
    const token = randomBytes(24).toString('base64url');
    this.sessions.set(token, { userId, expiresAt: Date.now() + SESSION_TTL_MS });
    return token;
  }

  userOf(token: string | undefined): string | null {
    if (!token) return null;
    const session = this.sessions.get(token);
    if (!session) return null;
    if (session.expiresAt < Date.now()) {
      this.sessions.delete(token);
      return null;
    }
    return session.userId;
  }
}

export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return decodeURIComponent(rest.join('='));
  }
  return undefined;
}
