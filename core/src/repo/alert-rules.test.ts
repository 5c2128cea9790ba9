import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createCanaryMetrics } from '@syncscope/agent/canaries/canary-metrics';
import { createAgentMetrics } from '@syncscope/agent/metrics/agent-metrics';
import { registerJobMetrics } from '@syncscope/agent/metrics/job-metrics';
import { createScheduleMetrics } from '@syncscope/agent/metrics/schedule-metrics';
import { createReplicationHealthMetrics } from '@syncscope/agent/replication-health/replication-health-metrics';
import { createBucketBudgetMetrics } from '@syncscope/agent/rules-insight/bucket-budget-metrics';
import { createRulesCoverageMetrics } from '@syncscope/agent/rules-insight/rules-coverage-metrics';
import { SERVICE_METRIC_NAMES } from '@syncscope/powersync/metrics/server-metrics';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { readReference } from '../testing/reference.ts';
import { createConsoleMetrics } from '../upload-errors/console-metrics.ts';
import { metricNamesIn } from './promql-metric-names.ts';

const RULES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../prometheus/rules');
const ruleFiles = readdirSync(RULES).filter((f) => f.endsWith('.yml'));
const testFiles = readdirSync(path.join(RULES, 'tests')).filter((f) => f.endsWith('.yml'));

interface AlertRule {
  alert: string;
  expr: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
const alerts: AlertRule[] = ruleFiles.flatMap((f) =>
  (
    YAML.parse(readFileSync(path.join(RULES, f), 'utf8')) as { groups: { rules: AlertRule[] }[] }
  ).groups.flatMap((g) => g.rules)
);

/**
 * Every registry whose series the rules may name. A workstream that adds a registry of agent or console
 * metrics adds it here.
 */
function registries(): Registry[] {
  const agent = createAgentMetrics({ targets: [] }).registry;
  const schedule = new Registry();
  createScheduleMetrics(schedule);
  // Names only: nothing is scraped, so the job metrics' ops database is never queried.
  registerJobMetrics(schedule, { query: () => Promise.reject(new Error('not scraped')) });
  createReplicationHealthMetrics(schedule);
  createCanaryMetrics(schedule);
  createRulesCoverageMetrics(schedule);
  createBucketBudgetMetrics(schedule);
  return [agent, schedule, createConsoleMetrics().registry];
}

/** Series names: registries (histograms as _bucket/_sum/_count), the service's, Prometheus's own. */
function knownSeries(): Set<string> {
  const syncscope = registries().flatMap((r) =>
    r.getMetricsAsArray().flatMap((m) => [m.name, `${m.name}_bucket`, `${m.name}_sum`, `${m.name}_count`])
  );
  // The real service's exposition (capture of 1.25) and the names the dev sync server shares with it.
  const captured = [...readReference('metrics.txt').matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]!);
  return new Set([
    ...syncscope,
    ...captured,
    ...Object.values(SERVICE_METRIC_NAMES),
    'up',
    'ALERTS',
    'ALERTS_FOR_STATE'
  ]);
}

const promtool = (...args: string[]) =>
  execFileSync('promtool', args, { cwd: RULES, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

describe('alert rules (prometheus/rules)', () => {
  it('pass promtool check rules', () => {
    expect(ruleFiles.length).toBeGreaterThan(0);
    expect(promtool('check', 'rules', ...ruleFiles)).toContain(`SUCCESS: ${alerts.length} rules found`);
  });

  it('pass their promtool unit tests', () => {
    let out: string;
    try {
      out = promtool('test', 'rules', ...testFiles.map((f) => `tests/${f}`));
    } catch (error) {
      throw new Error(`promtool test rules failed:\n${(error as { stdout?: string }).stdout ?? error}`);
    }
    expect(out.match(/SUCCESS/g)?.length).toBe(testFiles.length);
  });

  it('each alert has a unit test where it fires and one where it stays silent', () => {
    const cases = testFiles.flatMap((f) =>
      (
        YAML.parse(readFileSync(path.join(RULES, 'tests', f), 'utf8')) as {
          tests: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[];
        }
      ).tests.flatMap((t) => t.alert_rule_test ?? [])
    );
    for (const { alert } of alerts) {
      const own = cases.filter((c) => c.alertname === alert);
      expect(
        own.some((c) => c.exp_alerts.length > 0),
        `${alert} has no test where it fires`
      ).toBe(true);
      expect(
        own.some((c) => c.exp_alerts.length === 0),
        `${alert} has no test where it is silent`
      ).toBe(true);
    }
  });

  it('each alert has a severity, says what to do, and links the console page of its cause', () => {
    for (const rule of alerts) {
      expect(['critical', 'warning'], rule.alert).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary, rule.alert).toBeTruthy();
      expect(rule.annotations?.description?.length, rule.alert).toBeGreaterThan(80);
      expect(rule.annotations?.runbook_url, rule.alert).toMatch(/^\{\{ \$externalLabels\.console_url \}\}\//);
    }
  });

  it('name only metrics that exist in the registries, the service or Prometheus', () => {
    const known = knownSeries();
    const missing = alerts.flatMap((rule) =>
      metricNamesIn(rule.expr)
        .filter((name) => !known.has(name))
        .map((name) => `${name} (in ${rule.alert})`)
    );
    expect(
      missing,
      `metrics no registry exports: ${missing.join(', ')}. Add the registry that exports them to registries() above, or fix the rule.`
    ).toEqual([]);
  });
});
