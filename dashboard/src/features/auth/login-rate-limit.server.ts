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
 * Seconds to wait before another attempt, or 0 when it may go ahead. `address` null (the console runs
 * without its server, so no socket address is known): only the per-email backoff applies.
 */
export async function loginRetryAfterSeconds(email: string, address: string | null): Promise<number> {
  const { rows } = await opsPool().query<{
    pair: number;
    pairLast: Date | null;
    all: number;
    last: Date | null;
  }>(
    `SELECT count(*) FILTER (WHERE email = $1)::int AS pair, max(at) FILTER (WHERE email = $1) AS "pairLast",
            count(*)::int AS all, max(at) AS last
     FROM syncscope.login_failures
     WHERE client_address = $2 AND at > now() - make_interval(hours => $3)`,
    [email, address ?? 'unknown', REMEMBER_HOURS]
  );
  const { pair, pairLast, all, last } = rows[0]!;
  const waits = [until(pairLast, backoffSeconds(pair, FREE_PER_PAIR))];
  if (address !== null) waits.push(until(last, backoffSeconds(all, FREE_PER_ADDRESS)));
  return Math.max(...waits);
}

function until(since: Date | null, seconds: number): number {
  if (!since || seconds === 0) return 0;
  return Math.max(0, Math.ceil((since.getTime() + seconds * 1000 - Date.now()) / 1000));
}

export async function recordLoginFailure(email: string, address: string | null): Promise<void> {
  const at = address ?? 'unknown';
  await opsPool().query('INSERT INTO syncscope.login_failures (email, client_address) VALUES ($1, $2)', [
    email,
    at
  ]);
  await opsPool().query(
    'DELETE FROM syncscope.login_failures WHERE client_address = $1 AND at < now() - make_interval(hours => $2)',
    [at, REMEMBER_HOURS]
  );
}

/** A success ends this email's backoff from this address (not the address's own). */
export async function clearLoginFailures(email: string, address: string | null): Promise<void> {
  await opsPool().query('DELETE FROM syncscope.login_failures WHERE email = $1 AND client_address = $2', [
    email,
    address ?? 'unknown'
  ]);
}
