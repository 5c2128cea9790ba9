import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PowerSyncDatabase } from '@powersync/node';
import { createIngestKey, revokeIngestKey } from '@syncscope/core/upload-errors/ingest-keys';
import { ArticleConnector } from '@syncscope/demo/client/article-connector';
import { demoClientSchema } from '@syncscope/demo/client/demo-client-schema';
import { DEMO_USERS, workspaceId } from '@syncscope/demo/seed/seed-plan';
import type { RunningStack } from '@syncscope/demo/stack/start-stack';
import type pg from 'pg';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  type ConsoleSession,
  E2E_METRICS_TOKEN,
  screenshot,
  startConsoleSession
} from '../../e2e/console-stack.ts';

let session: ConsoleSession;
let stack: RunningStack;
let app: pg.Pool;
let ops: pg.Pool;
let page: Page;

beforeAll(async () => {
  session = await startConsoleSession('viewer');
  ({ stack, app, ops, page } = session);
}, 240_000);

afterAll(() => session?.close());

async function eventually<T>(check: () => Promise<T>, ms = 30_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > until) throw error;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** The console's `syncscope_upload_stuck_queues` for target demo, as Prometheus scrapes it. */
async function stuckGauge(): Promise<number | null> {
  const text = await (
    await fetch(`${stack.urls.console}/metrics`, {
      headers: { authorization: `Bearer ${E2E_METRICS_TOKEN}` }
    })
  ).text();
  const value = /^syncscope_upload_stuck_queues\{target="demo"\} (\S+)$/m.exec(text)?.[1];
  return value === undefined ? null : Number(value);
}

/** Uploads a batch to the demo backend as alice, as her connector would (same API, same headers). */
async function uploadAsAlice(batch: unknown[], clientId: string) {
  const login = await fetch(`${stack.urls.backend}/api/dev/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: DEMO_USERS.alice.email })
  });
  const { session } = (await login.json()) as { session: string };
  const response = await fetch(`${stack.urls.backend}/api/upload`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${session}`,
      'x-powersync-client-id': clientId
    },
    body: JSON.stringify({ batch })
  });
  return (await response.json()) as { results: { ok: boolean; code?: string }[] };
}

const errorCount = async () =>
  (await ops.query('SELECT count(*)::int AS n FROM syncscope.upload_errors')).rows[0].n as number;

describe('upload errors in the console', () => {
  it('groups rejected operations, masks redacted fields and shows markup as text', async () => {
    const markup = '<img src=x onerror="window.__xss=1">';
    const { results } = await uploadAsAlice(
      [
        {
          op: 'PUT',
          table: 'records',
          id: crypto.randomUUID(),
          data: { workspace_id: workspaceId(1), title: markup, password: 'hunter2' }
        },
        {
          op: 'PUT',
          table: 'records',
          id: crypto.randomUUID(),
          data: { workspace_id: workspaceId(3), title: 'not mine' }
        },
        {
          op: 'PUT',
          table: 'records',
          id: crypto.randomUUID(),
          data: { workspace_id: workspaceId(4), title: 'not mine either' }
        }
      ],
      'e2e-client-1'
    );
    expect(results.map((r) => r.code)).toEqual([
      'DEMO_E_UNKNOWN_COLUMN',
      'DEMO_E_FORBIDDEN',
      'DEMO_E_FORBIDDEN'
    ]);
    await eventually(async () => expect(await errorCount()).toBe(3));

    await page.goto(`${stack.urls.console}/uploads`);
    const groups = page.getByTestId('error-groups');
    const rows = await groups.locator('tbody tr').allInnerTexts();
    expect(rows).toHaveLength(2);
    const forbidden = rows.find((r) => r.includes('DEMO_E_FORBIDDEN'))!;
    expect(forbidden).toMatch(/records/);
    expect(forbidden).toMatch(/final/);
    expect(forbidden).toMatch(/\t2\t/);
    await screenshot(page, 'upload-errors');

    await groups.getByRole('link', { name: /no writable column/ }).click();
    await page.getByTestId('occurrences').waitFor();
    const data = page.getByTestId('operation-data');
    await expect(data.textContent()).resolves.toContain(JSON.stringify(markup)); // shown as JSON text
    await expect(data.textContent()).resolves.toContain('••• redacted');
    await expect(page.locator('main').textContent()).resolves.not.toContain('hunter2');
    expect(await page.locator('main img').count()).toBe(0);
    expect(await page.evaluate(() => (window as { __xss?: number }).__xss)).toBeUndefined();
    await expect(page.getByTestId('affected-users').textContent()).resolves.toContain(DEMO_USERS.alice.id);
    await screenshot(page, 'upload-error-group');
    const stored = await ops.query(
      "SELECT data FROM syncscope.upload_errors WHERE code = 'DEMO_E_UNKNOWN_COLUMN'"
    );
    expect(stored.rows[0].data.password).toBe('[redacted]');

    const anonymous = await fetch(`${stack.urls.console}/metrics`);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.text()).toContain('SYNCSCOPE_METRICS_TOKEN');
    const metrics = await (
      await fetch(`${stack.urls.console}/metrics`, {
        headers: { authorization: `Bearer ${E2E_METRICS_TOKEN}` }
      })
    ).text();
    expect(metrics).toMatch(
      /syncscope_upload_errors_total\{target="demo",table="records",retryable="false"\} 3/
    );
  });

  it('detects a stuck queue: a real client whose head operation keeps failing, until it goes through', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    const dir = await mkdtemp(path.join(os.tmpdir(), 'syncscope-stuck-'));
    const db = new PowerSyncDatabase({
      schema: demoClientSchema,
      database: { dbFilename: 'app.db', dbLocation: dir }
    });
    const holder = await app.connect();
    try {
      await db.connect(
        new ArticleConnector({ backendUrl: stack.urls.backend, email: DEMO_USERS.alice.email }),
        {
          retryDelayMs: 300,
          crudUploadThrottleMs: 50
        }
      );
      await db.waitForFirstSync({ signal: AbortSignal.timeout(20_000) });
      const clientId = await db.getClientId();
      const id = crypto.randomUUID();
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE records IN EXCLUSIVE MODE'); // the backend's lock timeout: retryable
      await db.execute('INSERT INTO records (id, workspace_id, title) VALUES (?, ?, ?)', [
        id,
        workspaceId(1),
        'stuck'
      ]);
      await eventually(async () => {
        await page.goto(`${stack.urls.console}/uploads`);
        const stuck = (await page.getByTestId('stuck-queues').textContent()) ?? '';
        expect(stuck).toContain(clientId);
        expect(stuck).toContain(`records/${id}`);
        expect(stuck).toMatch(/retryable/);
      }, 60_000);
      await screenshot(page, 'upload-errors-stuck');
      // Prometheus sees it too (the SyncScopeUploadQueueStuck alert).
      expect(await stuckGauge()).toBe(1);
      await holder.query('ROLLBACK');
      // The operation goes through; its success clears the streak.
      await eventually(async () => {
        await page.goto(`${stack.urls.console}/uploads`);
        expect(await page.getByTestId('stuck-queues').count()).toBe(0);
      }, 60_000);
      expect(await stuckGauge()).toBe(0);
    } finally {
      holder.release();
      await db.close().catch(() => {});
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('refuses a wrong key, malformed and oversized reports with a clear error, storing nothing', async () => {
    const url = `${stack.urls.console}/api/ingest/v1/upload-results`;
    const { key, info } = await createIngestKey(ops, { target: 'demo', label: 'e2e', createdBy: 'e2e' });
    const post = async (body: string, auth = `Bearer ${key}`) => {
      const response = await fetch(url, {
        method: 'POST',
        headers: { authorization: auth, 'content-type': 'application/json' },
        body
      });
      return {
        status: response.status,
        body: (await response.json()) as { error?: { code: string; message: string } }
      };
    };
    const valid = {
      version: 1,
      reportId: crypto.randomUUID(),
      userId: 'u-e2e',
      occurredAt: new Date().toISOString(),
      results: [
        { index: 0, table: 'records', id: 'r1', op: 'PUT', ok: false, retryable: false, detail: 'nope' }
      ]
    };
    const before = await errorCount();
    expect((await post('{}', 'Bearer ssk_wrong')).body.error?.code).toBe('SYNCSCOPE_E_INGEST_KEY');
    expect(await post('{"version":1,')).toMatchObject({
      status: 400,
      body: { error: { message: /not JSON/ } }
    });
    expect(
      await post(JSON.stringify({ ...valid, results: [{ ...valid.results[0], index: -1 }] }))
    ).toMatchObject({ status: 400, body: { error: { message: /results\.0\.index/ } } });
    expect(await post(JSON.stringify({ ...valid, padding: 'x'.repeat(1_100_000) }))).toMatchObject({
      status: 413,
      body: { error: { code: 'SYNCSCOPE_E_REQUEST_TOO_LARGE' } }
    });
    expect(
      await post(
        JSON.stringify({ ...valid, results: [{ ...valid.results[0], data: { blob: 'x'.repeat(70_000) } }] })
      )
    ).toMatchObject({ status: 413, body: { error: { message: /results\[0\]\.data/ } } });
    expect(await errorCount()).toBe(before);

    // A valid report is stored once; the same report again is a duplicate; a revoked key is refused.
    expect(await post(JSON.stringify(valid))).toMatchObject({
      status: 200,
      body: { added: 1, duplicates: 0 }
    });
    expect(await post(JSON.stringify(valid))).toMatchObject({
      status: 200,
      body: { added: 0, duplicates: 1 }
    });
    expect(await errorCount()).toBe(before + 1);
    await revokeIngestKey(ops, { id: info.id, revokedBy: 'e2e' });
    expect((await post(JSON.stringify(valid))).status).toBe(401);
  });
});
