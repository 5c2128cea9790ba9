import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PowerSyncDatabase } from '@powersync/node';
import { exportStreamsClientDatabase } from '@syncscope/agent/probe-integration/stream-client';
import { subscribeToWorkspace } from '@syncscope/agent/probe-integration/workspace-streams';
import { formatSubscription } from '@syncscope/core/sync-rules/subscription-text';
import { ArticleConnector } from '@syncscope/demo/client/article-connector';
import { demoClientSchema } from '@syncscope/demo/client/demo-client-schema';
import { DEMO_USERS, recordId, workspaceId } from '@syncscope/demo/seed/seed-plan';
import type { RunningStack } from '@syncscope/demo/stack/start-stack';
import Database from 'better-sqlite3';
import type pg from 'pg';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ConsoleSession,
  credentialsOf,
  screenshot,
  signIn,
  startConsoleSession
} from '../../e2e/console-stack.ts';
import { STREAMS_TARGET } from '../../e2e/streams-target.ts';

let session: ConsoleSession;
let stack: RunningStack;
let browser: Browser;
let ops: pg.Pool;
let page: Page;
let dir: string;

beforeAll(async () => {
  session = await startConsoleSession('operator', { streamsTarget: 'console_inspect_streams' });
  ({ stack, browser, ops, page } = session);
  dir = await mkdtemp(path.join(os.tmpdir(), 'syncscope-inspect-'));
}, 240_000);

afterAll(async () => {
  await session?.close();
  await rm(dir, { recursive: true, force: true });
});

/** A real client database: alice synced, then offline writes waiting in ps_crud. */
async function exportedDatabaseWithPendingUploads(): Promise<{ file: string; inserted: string }> {
  const db = new PowerSyncDatabase({
    schema: demoClientSchema,
    database: { dbFilename: 'alice.db', dbLocation: dir }
  });
  await db.connect(new ArticleConnector({ backendUrl: stack.urls.backend, email: DEMO_USERS.alice.email }));
  await db.waitForFirstSync({ signal: AbortSignal.timeout(20_000) });
  await db.disconnect();
  const inserted = crypto.randomUUID();
  await db.writeTransaction(async (tx) => {
    await tx.execute('INSERT INTO records (id, workspace_id, title) VALUES (?, ?, ?)', [
      inserted,
      workspaceId(1),
      'offline'
    ]);
    await tx.execute('UPDATE records SET title = ? WHERE id = ?', ['offline, edited', inserted]);
  });
  await db.execute('DELETE FROM records WHERE id = ?', [recordId(1)]);
  await db.close();
  // What an app's "export database" does: fold the WAL into the file, then share the file alone.
  const file = path.join(dir, 'alice.db');
  const sqlite = new Database(file);
  sqlite.pragma('wal_checkpoint(TRUNCATE)');
  sqlite.close();
  const exported = path.join(dir, `export-${inserted}.db`);
  await copyFile(file, exported);
  await rm(file);
  return { file: exported, inserted };
}

async function upload(file: string, options: { target?: string; user?: string } = {}) {
  await page.goto(`${stack.urls.console}/inspector`);
  await page.locator('input[type=file]').setInputFiles(file);
  if (options.target) await page.getByLabel(/^Target/).selectOption(options.target);
  if (options.user) await page.getByLabel(/^The user/).fill(options.user);
  await page.getByLabel(/^Delete the file after/).selectOption('15');
  await page.getByRole('button', { name: 'Inspect' }).click();
}

const storedFiles = async () =>
  (await readdir(path.join(os.tmpdir(), 'syncscope-inspector')).catch(() => [])).length;
const storedRows = async () =>
  (await ops.query('SELECT count(*)::int AS n FROM syncscope.inspected_databases')).rows[0].n as number;

describe('the client database inspector', () => {
  it('reads a real @powersync/node database: its pending uploads, buckets, and its rows against the source', async () => {
    const { file, inserted } = await exportedDatabaseWithPendingUploads();
    await upload(file, { target: 'demo', user: DEMO_USERS.alice.id });
    await page.waitForURL(/\/inspector\/[0-9a-f-]{36}$/);
    const title = await page.locator('main section h2').first().textContent();
    expect(title).toMatch(/Upload queue: 3 operations in 2 transactions/i);
    await expect(page.getByTestId('queue-head').textContent()).resolves.toContain(`PUT records/${inserted}`);
    const queue = await page.getByTestId('upload-queue').locator('tbody tr').allTextContents();
    expect(
      queue.map((r) => /(PUT|PATCH|DELETE)records\/[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}/.exec(r)?.[0])
    ).toEqual([`PUTrecords/${inserted}`, `PATCHrecords/${inserted}`, `DELETErecords/${recordId(1)}`]);
    const buckets = (await page.getByTestId('client-buckets').textContent()) ?? '';
    expect(buckets).toContain(`1#by_workspace["${workspaceId(1)}"]`);
    expect(buckets).toContain(`1#by_workspace["${workspaceId(2)}"]`);
    await expect(page.getByTestId('inspection-comparison').textContent()).resolves.toMatch(
      /consistent.*matches the source: \d+ rows in 2 buckets/s
    );
    await screenshot(page, 'inspector');
    const audit = await ops.query(
      "SELECT actor, subject_user FROM syncscope.audit_log WHERE action = 'database.inspected'"
    );
    expect(audit.rows).toEqual([{ actor: 'operator@example.com', subject_user: DEMO_USERS.alice.id }]);

    // Deleting it now removes the file and the record.
    const before = await storedFiles();
    await page.getByRole('button', { name: 'delete the file now' }).click();
    await page.waitForURL(/\/inspector$/);
    expect(await storedFiles()).toBe(before - 1);
  });

  it('refuses a file that is not SQLite, or not a PowerSync database, keeping nothing', async () => {
    const text = path.join(dir, 'notes.txt');
    await writeFile(text, 'just some text, not a database\n');
    const plain = path.join(dir, 'plain.db');
    const sqlite = new Database(plain);
    sqlite.exec('CREATE TABLE things (id INTEGER PRIMARY KEY)');
    sqlite.close();
    const [files, rows] = [await storedFiles(), await storedRows()];
    await upload(text);
    await expect(page.locator('main [role=alert]').textContent()).resolves.toMatch(/not a SQLite database/);
    await upload(plain);
    await expect(page.locator('main [role=alert]').textContent()).resolves.toMatch(
      /not a PowerSync client database/
    );
    expect([await storedFiles(), await storedRows()]).toEqual([files, rows]);
  });

  it('deletes files past their retention, and keeps viewers out', async () => {
    const { file } = await exportedDatabaseWithPendingUploads();
    await upload(file);
    await page.waitForURL(/\/inspector\/[0-9a-f-]{36}$/);
    const { rows } = await ops.query<{ file_path: string }>(
      'SELECT file_path FROM syncscope.inspected_databases'
    );
    expect(rows).toHaveLength(1);
    await ops.query("UPDATE syncscope.inspected_databases SET expires_at = now() - interval '1 second'");
    await page.goto(`${stack.urls.console}/inspector`);
    expect(existsSync(rows[0]!.file_path)).toBe(false);
    expect(await storedRows()).toBe(0);

    const viewer = await (await browser.newContext()).newPage();
    await signIn(viewer, stack.urls.console!, credentialsOf(stack, 'viewer'));
    await viewer.goto(`${stack.urls.console}/inspector`);
    expect(viewer.url()).toContain('/forbidden');
    const forged = await viewer.evaluate(
      async () => (await fetch('/api/inspector', { method: 'POST', body: 'x' })).status
    );
    expect(forged).toBe(403);
  });

  it('shows the sync-stream subscriptions a client keeps, and expects the rows of the ones it still requests', async () => {
    const alice = DEMO_USERS.alice.id;
    // Held with an hour's TTL first (a loaded machine must not see it expire before the page renders),
    // then released with a 1 s TTL that runs out before the second upload.
    const exported = (name: string, release: boolean) =>
      exportStreamsClientDatabase(session.streams!.harness, alice, path.join(dir, name), [
        { workspace: 1 },
        { workspace: 2, ttl: release ? 1 : 3600, release }
      ]);
    const rows = () => page.getByTestId('client-subscriptions').locator('tbody tr').allTextContents();
    const comparison = () => page.getByTestId('inspection-comparison').textContent();

    await upload(await exported('alice-streams.db', false), { target: STREAMS_TARGET, user: alice });
    await page.waitForURL(/\/inspector\/[0-9a-f-]{36}$/);
    expect(await rows()).toEqual([
      expect.stringMatching(
        new RegExp(
          `^${escapeRegExp(formatSubscription(subscribeToWorkspace(1)))}requested, expires .* \\(TTL 86400 s\\)`
        )
      ),
      expect.stringMatching(
        new RegExp(
          `^${escapeRegExp(formatSubscription(subscribeToWorkspace(2)))}requested, expires .* \\(TTL 3600 s\\)`
        )
      ),
      expect.stringMatching(/^my_workspacesdefault stream: the service syncs it without a subscription/)
    ]);
    await expect(comparison()).resolves.toMatch(
      /consistent.*matches the source \(with the client's 2 stream subscriptions\): \d+ rows in \d+ buckets/s
    );
    await screenshot(page, 'inspector-subscriptions');

    // The screen showing workspace 2 closed and its 1 s TTL ran out: the client drops it when it next connects.
    const released = await exported('alice-streams-released.db', true);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await upload(released, { target: STREAMS_TARGET, user: alice });
    await page.waitForURL(/\/inspector\/[0-9a-f-]{36}$/);
    expect((await rows())[1]).toMatch(/expired .* \(TTL 1 s\): not requested any more/);
    const text = (await comparison()) ?? '';
    expect(text).toMatch(
      /mismatch.*40 row and 1 bucket differences .* \(with the client's 1 stream subscription\)/s
    );
    expect(text).toContain(
      `of stream workspace_records, which the client no longer requests: ${formatSubscription(subscribeToWorkspace(2))} expired`
    );
    expect(text).not.toContain(workspaceId(1));
    await screenshot(page, 'inspector-subscription-expired');

    // Subscriptions the SDK could not have written: refused at upload (not a failing page later), nothing kept.
    const edited = await exported('alice-streams-edited.db', false);
    const sqlite = new Database(edited);
    sqlite.exec(
      "UPDATE ps_stream_subscriptions SET local_params = '[1]' WHERE id = (SELECT max(id) FROM ps_stream_subscriptions)"
    );
    sqlite.close();
    const [files, stored] = [await storedFiles(), await storedRows()];
    await upload(edited, { target: STREAMS_TARGET, user: alice });
    await expect(page.locator('main [role=alert]').textContent()).resolves.toMatch(/not a JSON object/);
    expect([await storedFiles(), await storedRows()]).toEqual([files, stored]);
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
