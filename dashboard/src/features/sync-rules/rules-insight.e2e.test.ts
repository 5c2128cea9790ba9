import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsoleSession, screenshot, startConsoleSession } from '../../e2e/console-stack.ts';

const ORPHANS = ['0-orphan-1', '0-orphan-2', '0-orphan-3'];

let session: ConsoleSession;
let page: Page;

beforeAll(async () => {
  session = await startConsoleSession('viewer');
  page = session.page;
}, 300_000);

afterAll(async () => {
  await session?.close();
});

/** Records no known user can hold, counted without SyncScope's code (before our 3 are added). */
async function recordsWithoutMember(): Promise<number> {
  const { rows } = await session.app.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM records r WHERE NOT EXISTS (
       SELECT 1 FROM workspace_memberships m JOIN users u ON u.id = m.user_id WHERE m.workspace_id = r.workspace_id)`
  );
  return rows[0]!.n;
}

describe('the sync rules page: lint at its lines, coverage tab', () => {
  it('shows an error and a warning inline at their rules lines, with their fixes', async () => {
    await session.app.query('ALTER TABLE categories REPLICA IDENTITY NOTHING');
    await session.app.query('DROP INDEX records_workspace');
    try {
      await page.goto(`${session.stack.urls.console}/rules?target=demo`);
      await expect(page.getByTestId('lint-summary').textContent()).resolves.toBe(
        '1 error(s), 1 warning(s), 0 note(s), shown at their lines below.'
      );
      const error = await page.getByTestId('finding-line-7').textContent();
      expect(error).toContain('error · public.categories has no replica identity');
      expect(error).toContain('fix: ALTER TABLE "public"."categories" ADD PRIMARY KEY (id);');
      const warning = await page.getByTestId('finding-line-6').textContent();
      expect(warning).toContain('warning · public.records.workspace_id is compared with bucket.workspace_id');
      expect(warning).toContain(
        'fix: CREATE INDEX CONCURRENTLY "records_workspace_id_idx" ON "public"."records" ("workspace_id");'
      );
      await screenshot(page, 'sync-rules-lint');
    } finally {
      await session.app.query('ALTER TABLE categories REPLICA IDENTITY DEFAULT');
      await session.app.query('CREATE INDEX records_workspace ON records (workspace_id)');
    }
    await page.goto(`${session.stack.urls.console}/rules?target=demo`);
    await expect(page.getByTestId('lint-summary').textContent()).resolves.toMatch(/^No findings/);
  });

  it('counts 3 more records in no bucket once their workspace has no member, and names the rule', async () => {
    const before = await recordsWithoutMember();
    await session.app.query("INSERT INTO workspaces VALUES ('ws-nobody', 'Nobody''s')");
    await session.app.query(
      `INSERT INTO records (id, workspace_id, title) VALUES ${ORPHANS.map((id) => `('${id}', 'ws-nobody', 'orphan')`).join(', ')}`
    );
    await page.goto(`${session.stack.urls.console}/rules?target=demo`);
    await page.getByRole('link', { name: 'Coverage' }).click();
    await page.getByTestId('coverage-tables').waitFor();
    const cells = await page.getByTestId('coverage-public.records').locator('td').allTextContents();
    expect(cells[2]).toBe(String(before + 3));
    const samples = await page.getByTestId('coverage-samples-public.records').locator('li').allTextContents();
    expect(samples.slice(0, 3)).toEqual(
      ORPHANS.map(
        (id) =>
          `${id}: by_workspace (line 6) puts it in a bucket no user holds: no user's parameter query gives workspace_id = "ws-nobody"`
      )
    );
    const users = await page.getByTestId('coverage-users').textContent();
    expect(users).toContain('known users get no bucket at all');
    // carol belongs to no workspace (demo/src/seed); she is named by her email, her id beneath it.
    expect(users).toContain('carol@example.com');
    await screenshot(page, 'sync-rules-coverage');
  });
});
