import { z } from 'zod';
import { safeNextPath } from '../auth/safe-next';

/** An alert firing in Prometheus, as the overview lists it. */
export interface FiringAlert {
  name: string;
  severity: string;
  /** The target it is about; absent for alerts not tied to one (an agent down, ingest failing). */
  target: string | null;
  summary: string;
  /** The console page of its cause (a path on this console), from the rule's `runbook_url`. */
  link: string | null;
  activeAt: string | null;
}

const alertsResponse = z.object({
  status: z.literal('success'),
  data: z.object({
    alerts: z.array(
      z.object({
        labels: z.record(z.string(), z.string()),
        annotations: z.record(z.string(), z.string()).default({}),
        state: z.string(),
        activeAt: z.string().optional()
      })
    )
  })
});

const SEVERITY_ORDER = ['critical', 'warning'];

/**
 * The console path an alert links to. Rules write `{{ $externalLabels.console_url }}/probes?...`; only the
 * path is kept, so a link always opens this console (whatever console_url says) and never another site.
 */
export function consolePath(runbookUrl: string | undefined): string | null {
  if (!runbookUrl) return null;
  let url: URL;
  try {
    url = new URL(runbookUrl, 'http://console.invalid');
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  return safeNextPath(`${url.pathname}${url.search}${url.hash}`);
}

/**
 * The firing alerts in Prometheus's GET /api/v1/alerts answer that the user may see: `scope` as in
 * `Access.scope` (null: all targets). Alerts without a target are shown only to users of all targets.
 * Critical first, then by name and target. Throws if the answer is not Prometheus's shape.
 */
export function firingAlertsFrom(body: unknown, scope: readonly string[] | null): FiringAlert[] {
  const { data } = alertsResponse.parse(body);
  return data.alerts
    .filter((a) => a.state === 'firing')
    .map((a) => ({
      name: a.labels.alertname ?? '(unnamed)',
      severity: a.labels.severity ?? 'none',
      target: a.labels.target ?? null,
      summary: a.annotations.summary ?? a.labels.alertname ?? '',
      link: consolePath(a.annotations.runbook_url),
      activeAt: a.activeAt ?? null
    }))
    .filter((a) => scope === null || (a.target !== null && scope.includes(a.target)))
    .sort(
      (a, b) =>
        rank(a.severity) - rank(b.severity) ||
        a.name.localeCompare(b.name) ||
        (a.target ?? '').localeCompare(b.target ?? '')
    );
}

function rank(severity: string): number {
  const i = SEVERITY_ORDER.indexOf(severity);
  return i === -1 ? SEVERITY_ORDER.length : i;
}
