import { Card, Empty, TextLink, Time } from '@/ui/primitives';
import { firingAlerts } from './firing-alerts.server';

const SEVERITY_STYLES: Record<string, string> = {
  critical: 'bg-rose-100 text-rose-900 dark:bg-rose-900/40 dark:text-rose-200',
  warning: 'bg-amber-100 text-amber-900 dark:bg-amber-900/40 dark:text-amber-200'
};

/** The overview's list of alerts firing in Prometheus (prometheus/rules), each linking its cause. */
export async function FiringAlertsCard({ scope }: { scope: readonly string[] | null }) {
  const state = await firingAlerts(scope);
  if (state.kind === 'unconfigured')
    return (
      <p className="mb-4 text-xs text-zinc-500" data-testid="alerts-unconfigured">
        Alerting not configured (set SYNCSCOPE_PROMETHEUS_URL to list firing alerts here).
      </p>
    );
  if (state.kind === 'unreachable')
    return (
      <Card title="Firing alerts" className="mb-4">
        <p className="text-amber-800 dark:text-amber-300" data-testid="alerts-unreachable">
          {state.message}
        </p>
      </Card>
    );
  return (
    <Card title={`Firing alerts (${state.alerts.length})`} className="mb-4">
      {state.alerts.length ? (
        <table className="w-full text-left" data-testid="firing-alerts">
          <tbody>
            {state.alerts.map((a) => (
              <tr key={`${a.name}\u0000${a.target}\u0000${a.summary}`} className="align-top">
                <td className="py-0.5 pr-3">
                  <span
                    className={`rounded px-1.5 py-0.5 text-xs font-medium ${SEVERITY_STYLES[a.severity] ?? 'bg-zinc-100 dark:bg-zinc-800'}`}
                  >
                    {a.severity}
                  </span>
                </td>
                <td className="pr-3 font-mono text-xs">{a.name}</td>
                <td className="pr-3">
                  {a.link ? <TextLink href={a.link}>{a.summary}</TextLink> : a.summary}
                </td>
                <td className="text-xs">{a.activeAt ? <Time value={a.activeAt} /> : null}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <Empty>Nothing is firing.</Empty>
      )}
    </Card>
  );
}
