export interface PgErrorClass {
  retryable: boolean;
  /** False for errors nobody planned for: still retryable, but worth a log line for a human. */
  expected: boolean;
  sqlstate: string | undefined;
}

// Transient: lock timeout, serialization failure, deadlock, statement timeout, admin shutdown / crash /
// cannot connect now; plus whole classes: 08 connection exceptions, 53 insufficient resources.
const TRANSIENT = new Set(['55P03', '40001', '40P01', '57014', '57P01', '57P02', '57P03', '57P05']);
const TRANSIENT_CLASSES = ['08', '53'];
// Final: data exceptions (22) and integrity constraint violations (23) cannot succeed on a retry.
const FINAL_CLASSES = ['22', '23'];

/**
 * Whether a failed write may succeed if the client retries it. Anything unforeseen is treated as
 * transient so a client never drops a write because of an error we did not plan for (e.g. a schema
 * change mid-deploy); the caller logs those.
 */
export function classifyPgError(error: unknown): PgErrorClass {
  const { code, severity } = (error ?? {}) as { code?: unknown; severity?: unknown };
  // Network errors (ECONNRESET, EPIPE, pool connect timeouts, ...) are not server errors: no SQLSTATE.
  if (typeof code !== 'string' || typeof severity !== 'string' || !/^[0-9A-Z]{5}$/.test(code))
    return { retryable: true, expected: true, sqlstate: undefined };
  if (FINAL_CLASSES.includes(code.slice(0, 2)) || code === '42501')
    return { retryable: false, expected: true, sqlstate: code };
  if (TRANSIENT.has(code) || TRANSIENT_CLASSES.includes(code.slice(0, 2)))
    return { retryable: true, expected: true, sqlstate: code };
  return { retryable: true, expected: false, sqlstate: code };
}
