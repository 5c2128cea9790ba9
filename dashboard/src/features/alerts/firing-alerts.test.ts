import { describe, expect, it } from 'vitest';
import { consolePath, firingAlertsFrom } from './firing-alerts.ts';

const alert = (labels: Record<string, string>, runbook_url: string, state = 'firing') => ({
  labels: { severity: 'warning', ...labels },
  annotations: { summary: `${labels.alertname} on ${labels.target ?? 'all'}`, runbook_url },
  state,
  activeAt: '2026-12-03T23:00:00Z',
  value: '1e+00'
});
const answer = {
  status: 'success',
  data: {
    alerts: [
      alert({ alertname: 'SyncScopeUploadQueueStuck', target: 'staging' }, 'http://c/uploads?target=staging'),
      alert(
        { alertname: 'SyncScopeProbeMismatchPersisting', target: 'prod', severity: 'critical' },
        'http://console.example:3000/probes?target=prod&verdict=mismatch'
      ),
      alert({ alertname: 'SyncScopeAgentDown', instance: 'agent-1:9464', severity: 'critical' }, '/'),
      alert({ alertname: 'SyncScopeReplicationLagHigh', target: 'prod' }, '/?target=prod', 'pending')
    ]
  }
};

describe('firing alerts on the overview', () => {
  it('lists firing alerts, critical first, each linking its console page on this console', () => {
    expect(firingAlertsFrom(answer, null).map((a) => [a.severity, a.name, a.target, a.link])).toEqual([
      ['critical', 'SyncScopeAgentDown', null, '/'],
      ['critical', 'SyncScopeProbeMismatchPersisting', 'prod', '/probes?target=prod&verdict=mismatch'],
      ['warning', 'SyncScopeUploadQueueStuck', 'staging', '/uploads?target=staging']
    ]);
  });

  it("shows a user only their targets' alerts, and alerts tied to no target only to users of all targets", () => {
    expect(firingAlertsFrom(answer, ['prod']).map((a) => a.name)).toEqual([
      'SyncScopeProbeMismatchPersisting'
    ]);
    expect(firingAlertsFrom(answer, [])).toEqual([]);
  });

  it('never links off the console', () => {
    expect(consolePath('javascript:alert(1)')).toBeNull();
    expect(consolePath('https://evil.example//evil.example/x')).toBe('/');
    expect(consolePath('https://evil.example/probes?target=a')).toBe('/probes?target=a');
    expect(consolePath(undefined)).toBeNull();
  });

  it('refuses an answer that is not Prometheus alerts', () => {
    expect(() => firingAlertsFrom({ status: 'error', error: 'x' }, null)).toThrow();
  });
});
