import 'server-only';
import { opsPool } from '@/server/ops-pool';

/**
 * Sign-in throttling is a backoff, never a lockout: after a few free failures each further one doubles
 * the wait (5 s, 10 s, 20 s, …) up to 15 minutes after the latest failure. It is kept per (email, client
 * address), so an attacker guessing alice's password from one address slows only themselves and never
 * alice at hers, and per address (any email), so one address cannot spray guesses over many accounts.
 * Attempts refused while waiting are not counted; failures older than a day are forgotten.
 */
const FREE_PER_PAIR = 3;
const FREE_PER_ADDRESS = 20;
const MAX_WAIT_SECONDS = 15 * 60;
const REMEMBER_HOURS = 24;

export function backoffSeconds(failures: number, free: number): number {
  return failures < free ? 0 : Math.min(MAX_WAIT_SECONDS, 5 * 2 ** (failures - free));
}

/**
 * Starts a sign-in attempt: it is recorded as a failure before the password is checked (a success
 * removes it), and the wait counts only the failures recorded before it. So concurrent guesses cannot all
 * pass the check before any of them is recorded: each sees the ones ahead of it. Returns the attempt's
 * row id, or the seconds to wait (the refused attempt is not counted). `address` null (the console runs
 * without its server, so no socket address is known): only the per-email backoff applies.
 */
export async function beginLoginAttempt(
  email: string,
  address: string | null
): Promise<{ attempt: string } | { wait: number }> {
  const at = address ?? 'unknown';
  const pool = opsPool();
  const { rows: inserted } = await pool.query<{ id: string }>(
    'INSERT INTO syncscope.login_failures (email, client_address) VALUES ($1, $2) RETURNING id',
    [email, at]
  );
  const attempt = inserted[0]!.id;
  const { rows } = await pool.query<{ pair: number; pairLast: Date | null; all: number; last: Date | null }>(
    `SELECT count(*) FILTER (WHERE email = $1)::int AS pair, max(at) FILTER (WHERE email = $1) AS "pairLast",
            count(*)::int AS all, max(at) AS last
     FROM syncscope.login_failures
     WHERE client_address = $2 AND id < $4 AND at > now() - make_interval(hours => $3)`,
    [email, at, REMEMBER_HOURS, attempt]
  );
  const { pair, pairLast, all, last } = rows[0]!;
  const waits = [until(pairLast, backoffSeconds(pair, FREE_PER_PAIR))];
  if (address !== null) waits.push(until(last, backoffSeconds(all, FREE_PER_ADDRESS)));
  const wait = Math.max(...waits);
  if (wait === 0) return { attempt };
  await pool.query('DELETE FROM syncscope.login_failures WHERE id = $1', [attempt]);
  return { wait };
}

function until(since: Date | null, seconds: number): number {
  if (!since || seconds === 0) return 0;
  return Math.max(0, Math.ceil((since.getTime() + seconds * 1000 - Date.now()) / 1000));
}

/** A failed attempt stays recorded; failures older than a day at its address are forgotten. */
export async function forgetOldLoginFailures(address: string | null): Promise<void> {
  await opsPool().query(
    'DELETE FROM syncscope.login_failures WHERE client_address = $1 AND at < now() - make_interval(hours => $2)',
    [address ?? 'unknown', REMEMBER_HOURS]
  );
}

/** A success ends this email's backoff from this address (not the address's own). */
export async function clearLoginFailures(email: string, address: string | null): Promise<void> {
  await opsPool().query('DELETE FROM syncscope.login_failures WHERE email = $1 AND client_address = $2', [
    email,
    address ?? 'unknown'
  ]);
}
