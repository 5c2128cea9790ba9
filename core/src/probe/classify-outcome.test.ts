import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { SyncScopeError } from '../errors/index.ts';
import { readReference } from '../testing/reference.ts';
import { testPgUrl } from '../testing/test-database.ts';
import { errorEvent, syncOutcomeEvent } from './classify-outcome.ts';
import { openSourceSession, toProbeError } from './expected/source-session.ts';
import type { ExpectedState, SyncOutcome } from './probe-types.ts';

/** Runs `fn` on a fresh session and returns what it threw (a real error from Postgres or the driver). */
async function thrownBy(fn: (client: pg.Client, pid: number) => Promise<unknown>): Promise<unknown> {
  const client = new pg.Client({ connectionString: testPgUrl('postgres') });
  client.on('error', () => {});
  await client.connect();
  const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  try {
    await fn(client, rows[0]!.pid);
    return null;
  } catch (error) {
    return error;
  } finally {
    await client.end().catch(() => {});
  }
}

const terminate = async (pid: number) => {
  const admin = new pg.Client({ connectionString: testPgUrl('postgres') });
  await admin.connect();
  await admin.query('SELECT pg_terminate_backend($1)', [pid]);
  await admin.end();
};

describe('source errors', () => {
  it('a session terminated by pg_terminate_backend (57P01): source session lost', async () => {
    const error = await thrownBy(async (client, pid) => {
      const sleeping = client.query('SELECT pg_sleep(10)').then(
        () => null,
        (e: unknown) => e
      );
      await new Promise((r) => setTimeout(r, 100));
      await terminate(pid);
      throw await sleeping;
    });
    expect((error as { code?: string }).code).toBe('57P01');
    const result = errorEvent(error);
    expect(result.event).toBe('source-session-lost');
    expect(result.message).toMatch(/^The probe's session on the source Postgres ended .*57P01/);
  });

  it('the next query on a connection the server closed ("Connection terminated"): source session lost', async () => {
    const error = await thrownBy(async (client, pid) => {
      await terminate(pid);
      await new Promise((r) => setTimeout(r, 100));
      await client.query('SELECT 1');
    });
    expect(errorEvent(error).event).toBe('source-session-lost');
  });

  it('a statement timeout (57014), through the probe session: source timeout', async () => {
    const session = await openSourceSession(testPgUrl('postgres'), { statementTimeoutMs: 50 });
    const error = await session.client.query('SELECT pg_sleep(1)').then(
      () => null,
      (e: unknown) => toProbeError(e, testPgUrl('postgres'), 50)
    );
    await session.close();
    expect((error as SyncScopeError).code).toBe('SYNCSCOPE_E_PROBE_SOURCE_TIMEOUT');
    expect(errorEvent(error).event).toBe('source-timeout');
  });

  it('invalid input keeps its own code; anything else thrown is a bug', () => {
    const input = errorEvent(new SyncScopeError('SYNCSCOPE_E_STREAM_UNKNOWN', 'no stream "x"'));
    expect(input).toEqual({
      event: 'invalid-input',
      code: 'SYNCSCOPE_E_STREAM_UNKNOWN',
      message: 'no stream "x"'
    });
    expect(errorEvent(new TypeError("Cannot read properties of undefined (reading 'x')")).event).toBe('bug');
  });
});

describe('sync outcomes', () => {
  const expected = (buckets: [definition: string, count: number][]): ExpectedState =>
    ({
      buckets: buckets.flatMap(([definition, count]) =>
        Array.from({ length: count }, (_, i) => ({
          bucket: `1#${definition}[${i}]`,
          definition,
          parameters: {},
          priority: 3
        }))
      ),
      parameterEvidence: []
    }) as unknown as ExpectedState;

  it.each([
    ['stream-bucket-limit-too-many-buckets-alice.ndjson', /Too many buckets: 1502 \(limit of 1000\)/],
    ['stream-bucket-limit-alice.ndjson', /Too many parameter query results \(limit of 1000\)/]
  ])(
    'PSYNC_S2305 as the service sends it (%s): bucket limit naming the definition with most buckets',
    (file, description) => {
      const body = JSON.parse(readReference(file)) as { error: { code: string; description: string } };
      const outcome: SyncOutcome = {
        kind: 'service-error',
        httpStatus: 500,
        code: body.error.code,
        message: body.error.description
      };
      const result = syncOutcomeEvent(
        outcome,
        expected([
          ['by_workspace', 2],
          ['by_record_param', 1500]
        ])
      );
      expect(result.event).toBe('bucket-limit');
      expect(result.message).toMatch(/^The sync service refused the user's sync with PSYNC_S2305: /);
      expect(result.message).toMatch(description);
      expect(result.message).toContain(
        'Bucket definition by_record_param gives most buckets (1,500; by_workspace: 2)'
      );
    }
  );

  it('another service error code is the service failing, not a limit', () => {
    const result = syncOutcomeEvent(
      { kind: 'service-error', httpStatus: 503, code: 'PSYNC_S2302', message: 'down' },
      null
    );
    expect(result.event).toBe('unreachable');
  });

  it.each<[SyncOutcome, string]>([
    [{ kind: 'synced', ms: 5 }, 'ok'],
    [
      {
        kind: 'auth-rejected',
        httpStatus: 401,
        code: 'PSYNC_S2101',
        message: 'Could not find an appropriate key'
      },
      'token-refused'
    ],
    [{ kind: 'token-expiring', secondsLeft: 0 }, 'token-refused'],
    [{ kind: 'unreachable', message: 'ECONNREFUSED' }, 'unreachable'],
    [{ kind: 'stream-unstable', errors: 4, lastError: 'terminated', seconds: 15 }, 'stream-unstable'],
    [{ kind: 'no-progress', seconds: 15 }, 'stream-unstable'],
    [{ kind: 'checksum-failure-loop', failures: 2, buckets: ['1#b[1]'] }, 'checksum-loop'],
    [{ kind: 'aborted' }, 'deadline']
  ])('%j → %s', (outcome, event) => {
    expect(syncOutcomeEvent(outcome, null).event).toBe(event);
  });

  it("a refused token's message carries the service's PSYNC code", () => {
    const result = syncOutcomeEvent(
      {
        kind: 'auth-rejected',
        httpStatus: 401,
        code: 'PSYNC_S2101',
        message: 'Could not find an appropriate key'
      },
      null
    );
    expect(result.message).toMatch(/HTTP 401 PSYNC_S2101: Could not find an appropriate key/);
  });
});
