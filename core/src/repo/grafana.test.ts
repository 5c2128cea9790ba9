import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SERVICE_METRIC_NAMES } from '@syncscope/powersync/metrics/server-metrics';
import { describe, expect, it } from 'vitest';

const DASHBOARDS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../grafana/dashboards');

describe('Grafana dashboards', () => {
  it('query only metric names that exist', () => {
    const known = new Set<string>(Object.values(SERVICE_METRIC_NAMES));
    for (const file of readdirSync(DASHBOARDS)) {
      const dashboard = JSON.parse(readFileSync(path.join(DASHBOARDS, file), 'utf8'));
      const exprs: string[] = dashboard.panels.flatMap((p: { targets: { expr: string }[] }) =>
        p.targets.map((t) => t.expr)
      );
      expect(exprs.length, file).toBeGreaterThan(0);
      for (const expr of exprs) {
        const names = expr.match(/\b(powersync|syncscope)_[a-z_]+\b/g) ?? [];
        expect(names.length, expr).toBeGreaterThan(0);
        for (const name of names) expect(known, `${file}: ${name}`).toContain(name);
      }
    }
  });
});
