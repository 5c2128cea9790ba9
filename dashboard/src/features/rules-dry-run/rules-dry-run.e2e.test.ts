import { DEMO_USERS } from '@syncscope/demo/seed/seed-plan';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ConsoleSession,
  credentialsOf,
  screenshot,
  startConsoleSession
} from '../../e2e/console-stack.ts';

/**
 * The dry-run page against the demo stack: the team moves `categories` out of the workspace buckets
 * into a bucket per user (the user who created the category). Who would lose rows, and how many, is
 * counted here in SQL from the seeded data, not with SyncScope's code.
 */
let session: ConsoleSession;
let page: Page;

const draft = (creatorColumn: string) =>
  [
    '# Categories follow the user who created them, not the workspace.',
    'bucket_definitions:',
    '  by_workspace:',
    '    parameters: SELECT workspace_id FROM workspace_memberships WHERE user_id = request.user_id()',
    '    data:',
    '      - SELECT * FROM records WHERE workspace_id = bucket.workspace_id',
    '  by_creator:',
    '    parameters: SELECT request.user_id() AS user_id',
    '    data:',
    `      - SELECT id, workspace_id, name, usage_count FROM categories WHERE ${creatorColumn} = bucket.user_id`,
    ''
  ].join('\n');
const CATEGORIES_LINE = 10;

beforeAll(async () => {
  session = await startConsoleSession('operator');
  page = session.page;
  // The column the team adds first: alice created workspace 1's categories, someone no longer a user the rest.
  await session.app.query('ALTER TABLE categories ADD COLUMN created_by text');
  await session.app.query(
    `UPDATE categories SET created_by = CASE WHEN workspace_id = (
       SELECT workspace_id FROM workspace_memberships WHERE user_id = $1 AND role = 'owner' LIMIT 1) THEN $1 ELSE 'former-user' END`,
    [DEMO_USERS.alice.id]
  );
}, 300_000);

afterAll(async () => {
  await session?.close();
});

/** Per user of the users table, the categories they hold today and would not under the draft, with their JSON bytes. */
async function expectedLosses(): Promise<Map<string, { rows: number; bytes: number }>> {
  const { rows } = await session.app.query<{ user_id: string; rows: number; bytes: number }>(
    `SELECT u.id AS user_id, count(*)::int AS rows, sum(octet_length(row_to_json(c)::text))::int AS bytes
     FROM users u
     JOIN workspace_memberships m ON m.user_id = u.id
     JOIN categories c ON c.workspace_id = m.workspace_id
     WHERE c.created_by IS DISTINCT FROM u.id
     GROUP BY u.id`
  );
  return new Map(rows.map((r) => [r.user_id, { rows: r.rows, bytes: r.bytes }]));
}

/**
 * Replaces the editor's whole text as a paste does (CodeMirror's paste handler inserts it in one
 * transaction; typing or CDP's insertText of many lines goes through the DOM and takes seconds).
 */
async function setDraft(text: string): Promise<void> {
  await page.locator('.cm-content').click();
  await page.keyboard.press('Control+A');
  await page.locator('.cm-content').evaluate((content, pasted) => {
    const clipboardData = new DataTransfer();
    clipboardData.setData('text/plain', pasted);
    content.dispatchEvent(new ClipboardEvent('paste', { clipboardData, bubbles: true, cancelable: true }));
  }, text);
}

/** The 1-based line of the editor that holds the first underlined error. */
async function lineOfFirstError(): Promise<number> {
  const mark = page.locator('.cm-lintRange-error').first();
  await mark.waitFor();
  return mark.evaluate((el) => {
    const line = el.closest('.cm-line')!;
    return (
      Array.from(line.parentElement!.children)
        .filter((c) => c.classList.contains('cm-line'))
        .indexOf(line) + 1
    );
  });
}

const status = () => page.getByTestId('draft-status');
const runButton = () => page.getByRole('button', { name: 'Run dry run' });

describe('the dry run of draft rules in the console', () => {
  it('opens on the current rules, which validate', async () => {
    await page.goto(`${session.stack.urls.console}/rules?target=demo`);
    await page.getByRole('link', { name: 'Dry run' }).click();
    await page.getByTestId('draft-editor').waitFor();
    await expect(page.locator('.cm-content').textContent()).resolves.toContain(
      'SELECT * FROM categories WHERE workspace_id = bucket.workspace_id'
    );
    await status().getByText('ready to run').waitFor();
    expect(await runButton().isEnabled()).toBe(true);
  });

  it('shows invalid YAML at its line and disables the run', async () => {
    await setDraft('bucket_definitions:\n  by_workspace:\n    data: [SELECT * FROM records\n');
    await status()
      .getByText(/error\(s\)/)
      .waitFor();
    const problems = await page.getByTestId('draft-problems').textContent();
    expect(problems).toMatch(/error · line [34] · YAML/);
    expect(await runButton().isDisabled()).toBe(true);
  });

  it('refuses a draft over 256 KiB, on the page and on the server', async () => {
    const big = `${draft('created_by')}${'# padding\n'.repeat(27_000)}`;
    await setDraft(big);
    await page
      .getByRole('alert')
      .getByText(/the console takes drafts up to 256 KiB/)
      .waitFor();
    expect(await runButton().isDisabled()).toBe(true);
    const answer = await page.evaluate(
      async (body) => {
        const response = await fetch('/api/rules/dry-run', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body
        });
        return { status: response.status, body: await response.json() };
      },
      JSON.stringify({ target: 'demo', draft: big, users: { kind: 'all' } })
    );
    expect(answer.status).toBe(413);
    expect(answer.body.error.message).toMatch(
      new RegExp(
        `^The draft is ${(big.length / 1024).toFixed(1)} KiB; the console takes drafts up to 256 KiB`
      )
    );
  });

  it('shows a column the source lacks at its line, with the fix, until it is fixed', async () => {
    await setDraft(draft('creator'));
    await page.getByTestId(`draft-problem-line-${CATEGORIES_LINE}`).waitFor();
    expect(await lineOfFirstError()).toBe(CATEGORIES_LINE);
    const problem = await page.getByTestId(`draft-problem-line-${CATEGORIES_LINE}`).textContent();
    expect(problem).toContain('error · line 10 · live source: public.categories has no column "creator"');
    expect(problem).toContain('fix: use one of its columns: id, workspace_id, name, usage_count, created_by');
    expect(await runButton().isDisabled()).toBe(true);
    await page.locator('.cm-lintRange-error').first().hover();
    await page.locator('.cm-tooltip-lint').getByText('has no column "creator"').waitFor();
    await screenshot(page, 'rules-dry-run-error');

    await setDraft(draft('created_by'));
    await status().getByText('ready to run').waitFor();
    expect(await page.locator('.cm-lintRange-error').count()).toBe(0);
  });

  it('runs for all users and names those who would lose rows, with the exact counts', async () => {
    const losses = await expectedLosses();
    const losing = [...losses.values()].filter((l) => l.rows > 0).length;
    expect(losses.get(DEMO_USERS.alice.id)?.rows).toBe(4); // workspace 2's categories; she keeps workspace 1's
    expect(losing).toBeGreaterThan(2);

    await runButton().click();
    await page.getByTestId('dry-run-report').waitFor({ timeout: 60_000 });
    await expect(page.getByTestId('dry-run-banner').textContent()).resolves.toMatch(
      new RegExp(`^${losing} users would lose rows of all \\d+ users \\(user_search public\\.users\\)`)
    );
    for (const user of [DEMO_USERS.alice.id, DEMO_USERS.bob.id]) {
      const row = page.getByTestId(`dry-run-user-${user}`);
      const { rows, bytes } = losses.get(user)!;
      await expect(row.getByTestId('user-dropped').textContent()).resolves.toBe(
        `${rows} · ${bytes.toLocaleString('en-US')} B`
      );
      await expect(row.getByTestId('buckets-gained').textContent()).resolves.toContain(
        `by_creator["${user}"]`
      );
    }
    await expect(
      page.getByTestId(`dry-run-user-${DEMO_USERS.alice.id}`).getByTestId('user-label').textContent()
    ).resolves.toBe(`${DEMO_USERS.alice.email}${DEMO_USERS.alice.id}`);
    const total = [...losses.values()].reduce(
      (a, l) => ({ rows: a.rows + l.rows, bytes: a.bytes + l.bytes }),
      {
        rows: 0,
        bytes: 0
      }
    );
    await expect(page.getByTestId('total-dropped').textContent()).resolves.toBe(
      `${total.rows.toLocaleString('en-US')} · ${total.bytes.toLocaleString('en-US')} B`
    );
    const { rows: uncovered } = await session.app.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM categories WHERE created_by = 'former-user'"
    );
    const cells = await page.getByTestId('uncovered-public.categories').locator('td').allTextContents();
    expect(cells[2]).toBe(uncovered[0]!.n.toLocaleString('en-US'));
    await screenshot(page, 'rules-dry-run-report');

    const audit = await session.ops.query<{ actor: string; details: { users: unknown; draftBytes: number } }>(
      "SELECT actor, details FROM syncscope.audit_log WHERE action = 'rules.dry_run' AND target = 'demo'"
    );
    expect(audit.rows).toEqual([
      {
        actor: credentialsOf(session.stack, 'operator').email,
        details: expect.objectContaining({ users: { kind: 'all' }, draftBytes: draft('created_by').length })
      }
    ]);
  });

  it('looks right in the dark theme too', async () => {
    await page.getByRole('button', { name: 'theme: system' }).click(); // system → dark
    await page.locator('.cm-theme-dark').waitFor();
    await screenshot(page, 'rules-dry-run-report-dark');
    await page.getByRole('button', { name: 'theme: dark' }).click();
    await page.getByRole('button', { name: 'theme: light' }).click();
  });

  it('keeps choosing users by SQL to admins: the option is off and the server refuses it', async () => {
    expect(await page.getByLabel('users from SQL').isDisabled()).toBe(true);
    const answer = await page.evaluate(
      async (body) => {
        const response = await fetch('/api/rules/dry-run', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body
        });
        return { status: response.status, body: await response.json() };
      },
      JSON.stringify({
        target: 'demo',
        draft: draft('created_by'),
        users: { kind: 'query', sql: 'SELECT id FROM users' }
      })
    );
    expect(answer.status).toBe(403);
    expect(answer.body.error.message).toMatch(/^Choosing users by SQL needs the admin role on target "demo"/);
  });
});
