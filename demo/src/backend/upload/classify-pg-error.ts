/**
 * Whether a failed write may succeed if the client retries it. Transient: lock and statement timeouts,
 * serialization failures, deadlocks, lost or refused connections, an overloaded server. Final: bad data
 * (class 22) and constraint violations (class 23). Anything else is treated as transient so a client
 * never drops a write because of an error we did not foresee; it is logged for a human.
 */
export function isRetryablePgError(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  if (typeof code !== 'string') return true; // network errors (ECONNREFUSED, ...) have no SQLSTATE
  if (code.startsWith('22') || code.startsWith('23')) return false;
  if (code === '42501') return false; // insufficient privilege
  return true;
}

export function pgErrorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'string' ? code : undefined;
}
