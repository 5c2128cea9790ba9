import { ERROR_CODES } from '@syncscope/core/errors/error-codes';
import { PROBE_MODES } from '@syncscope/core/probe/probe-mode';
import type { ProbeReport } from '@syncscope/core/probe/probe-types';
import { INCONCLUSIVE_REASONS, MISMATCH_REASONS, PROBE_VERDICTS } from '@syncscope/core/probe/verdicts';
import { WRITE_PROBE_LEGS, type WriteProbeReport } from '@syncscope/core/write-probe/write-probe-types';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { MismatchStreaks } from './mismatch-streaks.ts';

/**
 * Every metric the agent exports, defined once. Names are `syncscope_*`, values in base units
 * (seconds), and labels are bounded: `target` (names from the targets file), `verdict`, `phase` and
 * `kind` (fixed sets below), `reason` (a code of the error catalogue). Never a user id, bucket or row id.
 */
/** The probe's phases (core/src/probe/run-probe.ts); anything else is counted as `other`. */
export const PROBE_PHASES = [
  'mint',
  'schema',
  'sync',
  'expected',
  'diff',
  'settle',
  'write-checkpoint'
] as const;
export const ROW_DIFFERENCE_KINDS = ['missing', 'extra', 'different'] as const;

const DURATION_BUCKETS = [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300];
const PHASE_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

export function phaseLabel(phase: string): string {
  return (PROBE_PHASES as readonly string[]).includes(phase) ? phase : 'other';
}

/**
 * The `reason` label: the report's catalogue code, `none` without one (consistent), `other` for a
 * code the catalogue lacks (a newer agent's report, a typo), so the label's values stay a known set.
 */
export function reasonLabel(report: Pick<ProbeReport, 'reason'>): string {
  const code = report.reason?.code;
  if (code === undefined) return 'none';
  return Object.hasOwn(ERROR_CODES, code) ? code : 'other';
}

/** The series zeroed per target: each verdict with the reasons it can carry. */
const ZEROED_RUNS: readonly { verdict: string; reason: string }[] = [
  { verdict: 'consistent', reason: 'none' },
  ...MISMATCH_REASONS.map((reason) => ({ verdict: 'mismatch', reason })),
  ...INCONCLUSIVE_REASONS.map((reason) => ({ verdict: 'inconclusive', reason })),
  { verdict: 'error', reason: 'SYNCSCOPE_E_INTERNAL_ERROR' }
];

export interface AgentMetrics {
  registry: Registry;
  runs: Counter<'target' | 'verdict' | 'reason' | 'mode'>;
  consecutiveMismatches: Gauge<'target'>;
  duration: Histogram<'target' | 'mode'>;
  phaseDuration: Histogram<'target' | 'phase'>;
  rowDifferences: Gauge<'target' | 'kind'>;
  lastRun: Gauge<'target'>;
  /** Zero series for a target, so dashboards and alerts see it before its first probe. */
  initTarget(target: string): void;
  /** Counts one finished probe. */
  record(report: ProbeReport): void;
  writeProbeRuns: Counter<'target' | 'verdict'>;
  writeProbeLegDuration: Histogram<'target' | 'leg'>;
  /** Counts one finished write probe and times its passed legs. */
  recordWrite(report: WriteProbeReport): void;
}

/**
 * prom-client's default process metrics are left out on purpose: several are gauges named `*_total`,
 * which `promtool check metrics` rejects, and none are `syncscope_*`.
 */
export function createAgentMetrics(options: { targets: readonly string[] }): AgentMetrics {
  const registry = new Registry();
  const registers = [registry];

  const runs = new Counter({
    name: 'syncscope_probe_runs_total',
    help: `Probe runs by target, verdict (${PROBE_VERDICTS.join(', ')}), reason (the error catalogue's code; none when consistent, other when unknown) and mode (${PROBE_MODES.join(', ')}).`,
    labelNames: ['target', 'verdict', 'reason', 'mode'] as const,
    registers
  });
  const consecutiveMismatches = new Gauge({
    name: 'syncscope_probe_consecutive_mismatches',
    help: 'Longest current streak of consecutive mismatch verdicts of any one user of a target on this agent (inconclusive and error runs neither extend nor end a streak).',
    labelNames: ['target'] as const,
    registers
  });
  const streaks = new MismatchStreaks();
  const duration = new Histogram({
    name: 'syncscope_probe_duration_seconds',
    help: `Wall time of a probe run, from token minting to report (a light run's includes the full probe that confirmed a difference), by mode (${PROBE_MODES.join(', ')}).`,
    labelNames: ['target', 'mode'] as const,
    buckets: DURATION_BUCKETS,
    registers
  });
  const phaseDuration = new Histogram({
    name: 'syncscope_probe_phase_duration_seconds',
    help: `Time spent per probe phase (${PROBE_PHASES.join(', ')}, other).`,
    labelNames: ['target', 'phase'] as const,
    buckets: PHASE_BUCKETS,
    registers
  });
  const rowDifferences = new Gauge({
    name: 'syncscope_probe_row_differences',
    help: 'Row differences that persisted past the settle window in the last completed probe of a target, by kind (missing, extra, different).',
    labelNames: ['target', 'kind'] as const,
    registers
  });
  const lastRun = new Gauge({
    name: 'syncscope_probe_last_run_timestamp_seconds',
    help: 'Unix time the last probe of a target finished (0: none yet).',
    labelNames: ['target'] as const,
    registers
  });

  const writeProbeRuns = new Counter({
    name: 'syncscope_write_probe_runs_total',
    help: `Synthetic write probes by target and verdict (${PROBE_VERDICTS.join(', ')}).`,
    labelNames: ['target', 'verdict'] as const,
    registers
  });
  const writeProbeLegDuration = new Histogram({
    name: 'syncscope_write_probe_leg_duration_seconds',
    help: `Time per leg of the write path (${WRITE_PROBE_LEGS.join(', ')}), from the end of the previous leg.`,
    labelNames: ['target', 'leg'] as const,
    buckets: PHASE_BUCKETS,
    registers
  });

  const initTarget = (target: string) => {
    for (const verdict of PROBE_VERDICTS) writeProbeRuns.inc({ target, verdict }, 0);
    for (const leg of WRITE_PROBE_LEGS) writeProbeLegDuration.zero({ target, leg });
    for (const mode of PROBE_MODES)
      for (const labels of ZEROED_RUNS) runs.inc({ target, ...labels, mode }, 0);
    consecutiveMismatches.set({ target }, streaks.longest(target));
    for (const mode of PROBE_MODES) duration.zero({ target, mode });
    for (const phase of [...PROBE_PHASES, 'other']) phaseDuration.zero({ target, phase });
    for (const kind of ROW_DIFFERENCE_KINDS) rowDifferences.set({ target, kind }, 0);
    lastRun.set({ target }, 0);
  };
  for (const target of options.targets) initTarget(target);

  return {
    registry,
    runs,
    consecutiveMismatches,
    duration,
    phaseDuration,
    rowDifferences,
    lastRun,
    initTarget,
    writeProbeRuns,
    writeProbeLegDuration,
    recordWrite(report) {
      writeProbeRuns.inc({ target: report.target, verdict: report.verdict });
      for (const leg of report.legs)
        if (leg.status === 'passed' && leg.ms !== undefined)
          writeProbeLegDuration.observe({ target: report.target, leg: leg.leg }, leg.ms / 1000);
    },
    record(report) {
      const target = report.target;
      const mode = report.mode ?? 'full';
      runs.inc({ target, verdict: report.verdict, reason: reasonLabel(report), mode });
      consecutiveMismatches.set({ target }, streaks.record(target, report.userId, report.verdict));
      duration.observe({ target, mode }, report.durationMs / 1000);
      for (const [phase, ms] of Object.entries(report.phases)) {
        phaseDuration.observe({ target, phase: phaseLabel(phase) }, ms / 1000);
      }
      // A probe that could not tell says nothing about rows: the last known counts stay.
      if (report.verdict === 'consistent' || report.verdict === 'mismatch') {
        // Counts cover differences beyond the report's list; older reports listed every difference.
        const persisted = report.rows.differences.filter((d) => d.settled === 'persisted');
        for (const kind of ROW_DIFFERENCE_KINDS) {
          rowDifferences.set(
            { target, kind },
            report.rows.differenceCounts?.[kind] ?? persisted.filter((d) => d.kind === kind).length
          );
        }
      }
      lastRun.set({ target }, Date.now() / 1000);
    }
  };
}
