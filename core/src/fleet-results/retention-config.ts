import { z } from 'zod';
import { SyncScopeError } from '../errors/index.ts';

/**
 * How long raw probe runs are kept and how the agent prunes them. The hourly rollups and the audit log
 * are kept whatever this says.
 */
export interface RunRetention {
  /** Raw runs (and the finished jobs naming them) older than this are deleted. */
  rawRunDays: number;
  /** Rows one DELETE (or compaction UPDATE) touches. */
  batchRows: number;
  /** Pause between batches, so pruning never holds the database for long. */
  pauseMs: number;
}

/** Each setting: where it is read from and its range (the message names both). */
const SETTINGS = {
  rawRunDays: {
    env: 'SYNCSCOPE_RUN_RETENTION_DAYS',
    flag: '--run-retention-days',
    min: 1,
    max: 3650,
    fallback: 30
  },
  batchRows: {
    env: 'SYNCSCOPE_RUN_PRUNE_BATCH_ROWS',
    flag: undefined,
    min: 100,
    max: 100_000,
    fallback: 5_000
  },
  pauseMs: { env: 'SYNCSCOPE_RUN_PRUNE_PAUSE_MS', flag: undefined, min: 0, max: 60_000, fallback: 200 }
} as const;

type Key = keyof typeof SETTINGS;

const setting = (key: Key) => {
  const { min, max, fallback } = SETTINGS[key];
  return z.coerce
    .number({ message: `must be a whole number from ${min} to ${max}` })
    .int(`must be a whole number from ${min} to ${max}`)
    .min(min, `must be at least ${min}`)
    .max(max, `must be at most ${max}`)
    .default(fallback);
};

const retentionSchema = z.strictObject({
  rawRunDays: setting('rawRunDays'),
  batchRows: setting('batchRows'),
  pauseMs: setting('pauseMs')
});

/**
 * The retention from the agent's `--run-retention-days` (over SYNCSCOPE_RUN_RETENTION_DAYS) and the
 * environment, validated once at start; a bad value is SYNCSCOPE_E_RUN_RETENTION_INVALID naming it.
 */
export function readRunRetention(
  env: NodeJS.ProcessEnv,
  flags: { runRetentionDays?: string } = {}
): RunRetention {
  const raw = {
    rawRunDays: flags.runRetentionDays ?? blankToUndefined(env[SETTINGS.rawRunDays.env]),
    batchRows: blankToUndefined(env[SETTINGS.batchRows.env]),
    pauseMs: blankToUndefined(env[SETTINGS.pauseMs.env])
  };
  const parsed = retentionSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const key = issue.path[0] as Key;
  const { env: variable, flag } = SETTINGS[key];
  const from = key === 'rawRunDays' && flags.runRetentionDays !== undefined ? flag : variable;
  throw new SyncScopeError(
    'SYNCSCOPE_E_RUN_RETENTION_INVALID',
    `${from} is ${JSON.stringify(raw[key])}: it ${issue.message}. Fix it (or leave it unset for ${SETTINGS[key].fallback}) and start the agent again.`
  );
}

function blankToUndefined(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}
