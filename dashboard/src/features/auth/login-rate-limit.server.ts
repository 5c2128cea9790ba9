import 'server-only';
import { opsPool } from '@/server/ops-pool';

/** Failed sign-ins allowed per window: per email (guessing one account) and per address (spraying). */
const WINDOW_MINUTES = 15;
const MAX_PER_EMAIL = 5;
const MAX_PER_ADDRESS = 30;

/** Seconds to wait before another attempt, or 0 when the attempt may go ahead. */
export async function loginRetryAfterSeconds(email: string, address: string | null): Promise<number> {
  const { rows } = await opsPool().query<{ by_email: number; by_address: number; oldest: Date | null }>(
    `SELECT count(*) FILTER (WHERE email = $1)::int AS by_email,
            count(*) FILTER (WHERE $2::text IS NOT NULL AND client_address = $2)::int AS by_address,
            min(at) AS oldest
     FROM syncscope.login_failures
     WHERE at > now() - make_interval(mins => $3) AND (email = $1 OR ($2::text IS NOT NULL AND client_address = $2))`,
    [email, address, WINDOW_MINUTES]
  );
  const row = rows[0]!;
  if (row.by_email < MAX_PER_EMAIL && row.by_address < MAX_PER_ADDRESS) return 0;
  const freesAt = (row.oldest?.getTime() ?? Date.now()) + WINDOW_MINUTES * 60_000;
  return Math.max(1, Math.ceil((freesAt - Date.now()) / 1000));
}

export async function recordLoginFailure(email: string, address: string | null): Promise<void> {
  await opsPool().query('INSERT INTO syncscope.login_failures (email, client_address) VALUES ($1, $2)', [
    email,
    address ?? 'unknown'
  ]);
}

export async function clearLoginFailures(email: string): Promise<void> {
  await opsPool().query('DELETE FROM syncscope.login_failures WHERE email = $1', [email]);
}
