import { describe, expect, it } from 'vitest';
import { readRunRetention } from './retention-config.ts';

describe('the probe-run retention settings', () => {
  it('defaults to 30 days, batches of 5,000 and 200 ms pauses', () => {
    expect(readRunRetention({})).toEqual({ rawRunDays: 30, batchRows: 5_000, pauseMs: 200 });
  });

  it('reads the environment, and the flag over it', () => {
    const env = {
      SYNCSCOPE_RUN_RETENTION_DAYS: '90',
      SYNCSCOPE_RUN_PRUNE_BATCH_ROWS: '1000',
      SYNCSCOPE_RUN_PRUNE_PAUSE_MS: '0'
    };
    expect(readRunRetention(env)).toEqual({ rawRunDays: 90, batchRows: 1000, pauseMs: 0 });
    expect(readRunRetention(env, { runRetentionDays: '7' }).rawRunDays).toBe(7);
  });

  it.each([
    [
      { SYNCSCOPE_RUN_RETENTION_DAYS: '0' },
      {},
      'SYNCSCOPE_RUN_RETENTION_DAYS is "0": it must be at least 1.'
    ],
    [
      {},
      { runRetentionDays: 'a month' },
      '--run-retention-days is "a month": it must be a whole number from 1 to 3650.'
    ],
    [
      { SYNCSCOPE_RUN_RETENTION_DAYS: '1.5' },
      {},
      'SYNCSCOPE_RUN_RETENTION_DAYS is "1.5": it must be a whole number from 1 to 3650.'
    ],
    [
      { SYNCSCOPE_RUN_PRUNE_BATCH_ROWS: '1000000' },
      {},
      'SYNCSCOPE_RUN_PRUNE_BATCH_ROWS is "1000000": it must be at most 100000.'
    ],
    [
      { SYNCSCOPE_RUN_PRUNE_PAUSE_MS: '-1' },
      {},
      'SYNCSCOPE_RUN_PRUNE_PAUSE_MS is "-1": it must be at least 0.'
    ]
  ])('refuses %j %j, naming the setting and its range', (env, flags, message) => {
    expect(() => readRunRetention(env, flags)).toThrow(
      expect.objectContaining({
        code: 'SYNCSCOPE_E_RUN_RETENTION_INVALID',
        message: expect.stringContaining(message)
      })
    );
  });
});
