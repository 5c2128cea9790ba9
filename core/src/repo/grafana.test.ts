import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createAgentMetrics } from '@syncscope/agent/metrics/agent-metrics';
import { SERVICE_METRIC_NAMES } from '@syncscope/powersync/metrics/server-metrics';
import { describe, expect, it } from 'vitest';
import { createConsoleMetrics } from '../upload-errors/console-metrics.ts';
import { metricNamesIn } from './promql-metric-names.ts';

const DASHBOARDS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../grafana/dashboards');

describe('Grafana dashboards', () => {
  it('query only metric names that exist', () => {
    // The service's names, and every series SyncScope's agent and console register (histograms as
    // their _bucket, _sum and _count series).
    const registries = [createAgentMetrics({ targets: [] }).registry, createConsoleMetrics().registry];
    const syncscope = registries.flatMap((r) =>
      r.getMetricsAsArray().flatMap((m) => [m.name, `${m.name}_bucket`, `${m.name}_sum`, `${m.name}_count`])
    );
    // ALERTS: Prometheus's series of firing alerts (prometheus/rules).
    const known = new Set<string>([...Object.values(SERVICE_METRIC_NAMES), ...syncscope, 'ALERTS']);
    for (const file of readdirSync(DASHBOARDS)) {
      const dashboard = JSON.parse(readFileSync(path.join(DASHBOARDS, file), 'utf8'));
      const exprs: string[] = dashboard.panels.flatMap((p: { targets: { expr: string }[] }) =>
        p.targets.map((t) => t.expr)
      );
      expect(exprs.length, file).toBeGreaterThan(0);
      for (const expr of exprs) {
        const names = metricNamesIn(expr);
        expect(names.length, expr).toBeGreaterThan(0);
        for (const name of names) expect(known, `${file}: ${name}`).toContain(name);
      }
    }
  });
});
