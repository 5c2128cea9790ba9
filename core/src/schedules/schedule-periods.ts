import type { ProbeSchedule } from '../probe/probe-types.ts';

export const SCHEDULE_KINDS = ['canaries', 'sample', 'sweep'] as const;
export type ScheduleKind = (typeof SCHEDULE_KINDS)[number];

/** One period of one of a target's schedules: its users get at most one job each in it. */
export interface SchedulePeriod {
  kind: ScheduleKind;
  /** Aligned to the epoch, so every agent computes the same periods whenever it started. */
  start: Date;
  seconds: number;
}

function periodOf(kind: ScheduleKind, seconds: number, now: Date): SchedulePeriod {
  const ms = seconds * 1000;
  return { kind, seconds, start: new Date(Math.floor(now.getTime() / ms) * ms) };
}

/** The periods of a schedule that `now` falls in. */
export function currentPeriods(schedule: ProbeSchedule, now: Date): SchedulePeriod[] {
  const periods: SchedulePeriod[] = [];
  if (schedule.users.length > 0 && schedule.everySeconds)
    periods.push(periodOf('canaries', schedule.everySeconds, now));
  if (schedule.sample !== undefined && schedule.everySeconds)
    periods.push(periodOf('sample', schedule.everySeconds, now));
  if (schedule.sweepPeriodSeconds) periods.push(periodOf('sweep', schedule.sweepPeriodSeconds, now));
  return periods;
}

/**
 * A job's de-duplication key: target, schedule, period and user (and for a canary its place in the list,
 * as one user may be listed with several sets of stream subscriptions). Unique in probe_jobs.
 */
export function dedupKey(target: string, period: SchedulePeriod, userId: string, variant = ''): string {
  return [target, period.kind, period.start.toISOString(), userId, variant].join('\u001f');
}

/** The seconds between a target's scheduled probes of one user, for the not-probing alert. */
export function probeIntervalSeconds(schedule: ProbeSchedule): number | undefined {
  return schedule.everySeconds ?? schedule.sweepPeriodSeconds;
}
