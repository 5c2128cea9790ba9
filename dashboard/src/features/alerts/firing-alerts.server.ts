import 'server-only';
import { consoleConfig } from '@/server/console-config';
import { type FiringAlert, firingAlertsFrom } from './firing-alerts';

export type FiringAlertsState =
  | { kind: 'unconfigured' }
  | { kind: 'unreachable'; message: string }
  | { kind: 'ok'; alerts: FiringAlert[] };

/** Prometheus has this long to answer before the overview renders without its alerts. */
const TIMEOUT_MS = 3_000;

/** What is firing in SYNCSCOPE_PROMETHEUS_URL's Prometheus, for the targets in `scope`. Never throws. */
export async function firingAlerts(scope: readonly string[] | null): Promise<FiringAlertsState> {
  const base = consoleConfig().SYNCSCOPE_PROMETHEUS_URL;
  if (!base) return { kind: 'unconfigured' };
  const url = new URL('api/v1/alerts', base.endsWith('/') ? base : `${base}/`);
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS), cache: 'no-store' });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    return { kind: 'ok', alerts: firingAlertsFrom(await response.json(), scope) };
  } catch (error) {
    const cause =
      (error as Error).name === 'TimeoutError'
        ? `no answer in ${TIMEOUT_MS / 1000} s`
        : (error as Error).message;
    return {
      kind: 'unreachable',
      message: `Prometheus at ${url.origin} did not list its alerts (${cause}); check SYNCSCOPE_PROMETHEUS_URL and that Prometheus runs.`
    };
  }
}
