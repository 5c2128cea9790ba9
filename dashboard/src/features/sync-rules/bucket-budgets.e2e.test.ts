import {
  type BudgetReading,
  latestBudgetReading
} from '@syncscope/core/rules-insight/budgets/budget-history';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsoleSession, screenshot, startConsoleSession } from '../../e2e/console-stack.ts';

let session: ConsoleSession;
let page: Page;
/** Two demo users: one pushed over the limit, one growing towards it. */
let over: string;
let near: string;

beforeAll(async () => {
  session = await startConsoleSession('viewer');
  page = session.page;
  const { rows } = await session.app.query<{ id: string }>('SELECT id FROM users ORDER BY id LIMIT 2');
  [over, near] = rows.map((r) => r.id) as [string, string];
}, 300_000);

// The stack is this file's own: its workspaces go with it.
afterAll(async () => {
  await session?.close();
});

/** Workspaces ws-budget-<from>…<to> with `user` a member of each. */
async function joinWorkspaces(user: string, from: number, to: number) {
  await session.app.query(
    `INSERT INTO workspaces SELECT 'ws-budget-' || i, 'budget ' || i FROM generate_series($1::int, $2::int) i
     ON CONFLICT DO NOTHING`,
    [from, to]
  );
  await session.app.query(
    `INSERT INTO workspace_memberships (id, user_id, workspace_id, role)
     SELECT 'mb-' || $1 || '-' || i, $1, 'ws-budget-' || i, 'member' FROM generate_series($2::int, $3::int) i`,
    [user, from, to]
  );
}

/** A user's buckets counted without SyncScope's code: their distinct workspaces. */
async function bucketsOf(user: string): Promise<number> {
  const { rows } = await session.app.query<{ n: number }>(
    'SELECT count(DISTINCT workspace_id)::int AS n FROM workspace_memberships WHERE user_id = $1',
    [user]
  );
  return rows[0]!.n;
}

/** Waits for the stack's agent (rules_insight every 60 s) to store a reading with these counts. */
async function readingWith(counts: Record<string, number>): Promise<BudgetReading> {
  const deadline = Date.now() + 150_000;
  for (;;) {
    const reading = await latestBudgetReading(session.ops, 'demo');
    const listed = new Map(reading?.report.listed.map((u) => [u.user, u.buckets]));
    if (reading && Object.entries(counts).every(([user, n]) => listed.get(user) === n)) return reading;
    if (Date.now() > deadline)
      throw new Error(`no stored reading with ${JSON.stringify(counts)}; latest: ${JSON.stringify(reading)}`);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
  }
}

describe('the sync rules page: bucket budgets tab', () => {
  it('lists the users over the thresholds with their top rule, growth since the last reading and a forecast', async () => {
    await joinWorkspaces(over, 1, 1000);
    await joinWorkspaces(near, 1, 840);
    const first = { over: await bucketsOf(over), near: await bucketsOf(near) };
    expect(first.over).toBeGreaterThan(1000);
    await readingWith({ [over]: first.over, [near]: first.near });
    await joinWorkspaces(over, 1001, 1030);
    await joinWorkspaces(near, 841, 870);
    const second = { over: first.over + 30, near: first.near + 30 };
    await readingWith({ [over]: second.over, [near]: second.near });

    await page.goto(`${session.stack.urls.console}/rules?target=demo`);
    await page.getByRole('link', { name: 'Bucket budgets' }).click();
    await page.getByTestId('budget-users').waitFor();
    await expect(page.getByTestId('budget-over-1000').locator('td').allTextContents()).resolves.toEqual([
      '1,000',
      '1',
      'the bucket limit: the service refuses these users (PSYNC_S2305)'
    ]);
    await expect(page.getByTestId('budget-over-800').locator('td').nth(1).textContent()).resolves.toBe('2');
    const overRow = await page.getByTestId(`budget-user-${over}`).locator('td').allTextContents();
    expect(overRow).toEqual([
      over,
      second.over.toLocaleString('en-US'),
      second.over.toLocaleString('en-US'),
      `by_workspace · line 4 (${second.over.toLocaleString('en-US')})`,
      `+30 (was ${first.over.toLocaleString('en-US')})`,
      'over 1,000 now: the service refuses its connections'
    ]);
    const nearRow = await page.getByTestId(`budget-user-${near}`).locator('td').allTextContents();
    expect(nearRow.slice(0, 5)).toEqual([
      near,
      String(second.near),
      String(second.near),
      `by_workspace · line 4 (${second.near})`,
      `+30 (was ${first.near})`
    ]);
    // 30 more a reading apart (about a minute): the rest of the way in minutes.
    expect(nearRow[5]).toMatch(/^crosses 1,000 in ~\d+ min$/);
    await expect(page.getByTestId('budget-bin-1001').locator('td').nth(1).textContent()).resolves.toBe('1');
    await screenshot(page, 'sync-rules-budgets');
    // The top rule links to its line on the rules tab.
    await page.getByTestId(`budget-user-${over}`).getByRole('link').click();
    await page.waitForURL(/\/rules\?target=demo#L4$/);
    await expect(page.locator('#L4').textContent()).resolves.toContain('parameters:');
  }, 360_000);
});
