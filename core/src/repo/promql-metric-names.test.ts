import { describe, expect, it } from 'vitest';
import { metricNamesIn } from './promql-metric-names.ts';

describe('metricNamesIn', () => {
  it.each([
    ['up{job="syncscope-agent"} == 0', ['up']],
    [
      'sum by (target) (rate(syncscope_probe_runs_total{verdict="inconclusive"}[30m])) / sum by (target) (rate(syncscope_probe_runs_total[30m])) > 0.5',
      ['syncscope_probe_runs_total']
    ],
    [
      'max by (target, slot) (a_bytes) > on (target) group_left (slot) max by (target) (b_bytes)',
      ['a_bytes', 'b_bytes']
    ],
    // Functions, keywords, numbers with units and exponents, label values that look like names.
    [
      'time() - max without (instance) (x_seconds offset 5m) > 1e3 and on(target) y{a="rate(z)"} unless bool w',
      ['w', 'x_seconds', 'y']
    ],
    ['sum(rate(c_total[5m:1m])) by (job) or vector(0) + Inf - NaN', ['c_total']],
    ['max_over_time(g[1h] @ 1700000000) # a comment naming h_total', ['g']],
    ['ALERTS{alertstate="firing"}', ['ALERTS']],
    ['100 * 1024 * 1024 + 0x1f', []]
  ])('%s', (expr, names) => {
    expect(metricNamesIn(expr)).toEqual(names);
  });

  it('refuses __name__ selectors instead of missing the name', () => {
    expect(() => metricNamesIn('{__name__="syncscope_x"}')).toThrow(/__name__/);
  });
});
