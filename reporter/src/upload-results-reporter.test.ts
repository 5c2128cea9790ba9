import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createUploadResultsReporter } from './upload-results-reporter.ts';

/** A real HTTP endpoint that answers with the given statuses in turn and keeps what it received. */
async function ingestServer(statuses: number[]) {
  const received: { auth: string | undefined; body: Record<string, unknown> }[] = [];
  const server = createServer(async (req: IncomingMessage, res) => {
    let text = '';
    for await (const chunk of req) text += chunk;
    received.push({ auth: req.headers.authorization, body: JSON.parse(text) });
    res.statusCode = statuses.shift() ?? 200;
    res.end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/ingest/v1/upload-results`;
  return { url, received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

let close: (() => Promise<void>) | undefined;
afterEach(async () => close?.());

describe('the upload-results reporter', () => {
  it('sends failures with redacted data, successes without data, and retries with the same report id', async () => {
    const server = await ingestServer([503, 429, 200]);
    close = server.close;
    const reporter = createUploadResultsReporter({
      url: server.url,
      apiKey: 'ssk_test',
      redactFields: ['iban']
    });
    reporter.report({
      userId: 'u-1',
      clientId: 'c-1',
      results: [
        {
          index: 0,
          table: 'records',
          id: 'r1',
          op: 'PUT',
          ok: false,
          retryable: false,
          code: 'E',
          detail: 'bad'
        },
        { index: 1, table: 'records', id: 'r2', op: 'PUT', ok: true }
      ],
      batch: [
        {
          op: 'PUT',
          table: 'records',
          id: 'r1',
          data: { title: 't', password: 'hunter2', nested: { IBAN: 'DE00' } }
        },
        { op: 'PUT', table: 'records', id: 'r2', data: { title: 'fine' } }
      ]
    });
    await reporter.flush();
    expect(server.received).toHaveLength(3);
    const ids = new Set(server.received.map((r) => r.body.reportId));
    expect(ids.size).toBe(1);
    const [first] = server.received;
    expect(first!.auth).toBe('Bearer ssk_test');
    expect(first!.body).toMatchObject({ version: 1, userId: 'u-1', clientId: 'c-1' });
    expect(first!.body.results).toEqual([
      {
        index: 0,
        table: 'records',
        id: 'r1',
        op: 'PUT',
        ok: false,
        retryable: false,
        code: 'E',
        detail: 'bad',
        data: { title: 't', password: '[redacted]', nested: { IBAN: '[redacted]' } }
      },
      { index: 1, table: 'records', id: 'r2', op: 'PUT', ok: true }
    ]);
  });

  it('never throws into the caller: an unreachable SyncScope is reported to onDeliveryFailure', async () => {
    const failures: string[] = [];
    const reporter = createUploadResultsReporter({
      url: 'http://127.0.0.1:9/unreachable',
      apiKey: 'ssk_x',
      maxAttempts: 2,
      onDeliveryFailure: (reason) => failures.push(reason)
    });
    expect(() => reporter.report({ userId: 'u', results: [] })).not.toThrow();
    await reporter.flush();
    expect(failures).toEqual(['SyncScope unreachable after 2 attempts']);
  });
});
