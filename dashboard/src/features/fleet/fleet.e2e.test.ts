import { OpsDatabase } from '@syncscope/core/ops-db/ops-database';
import type { ProbeReport, RowDifference } from '@syncscope/core/probe/probe-types';
import { probeReportFixture } from '@syncscope/core/testing/probe-report-fixture';
import { DEMO_USERS } from '@syncscope/demo/seed/seed-plan';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsoleSession, screenshot, startConsoleSession } from '../../e2e/console-stack.ts';

let session: ConsoleSession;
let page: Page;
let ops: OpsDatabase;
const { alice, bob, carol } = DEMO_USERS;
let carolRun: string;

const missing = (table: string, bucket: string, i: number): RowDifference => ({
  kind: 'missing',
  table,
  id: `${table}-${i}`,
  buckets: [bucket],
  settled: 'persisted',
  explanation: 'not delivered'
});

/** Stores a read run as an agent does, `minutesAgo` before now. */
function storeRun(
  target: string,
  userId: string,
  verdict: ProbeReport['verdict'],
  minutesAgo: number,
  differences: RowDifference[] = []
): Promise<string> {
  const buckets = ['1#by_list["l1"]', '1#by_list["l2"]'];
  return ops.recordProbeRun(
    probeReportFixture(verdict, {
      target,
      userId,
      summary: `${verdict} run`,
      startedAt: new Date(Date.now() - minutesAgo * 60_000).toISOString(),
      buckets: { expected: buckets, actual: buckets, differences: [], overLimit: false },
      rows: {
        expected: 20,
        actual: 20 - differences.length,
        perTable: { todos: { expected: 20, actual: 20 - differences.length } },
        differences,
        differenceCounts: { missing: differences.length, extra: 0, different: 0 }
      },
      ...(verdict === 'consistent'
        ? {}
        : { reason: { code: 'SYNCSCOPE_E_ROWS_DIFFER', message: 'rows differ' } as ProbeReport['reason'] })
    })
  );
}

beforeAll(async () => {
  session = await startConsoleSession('viewer');
  page = session.page;
  ops = new OpsDatabase(session.stack.urls.postgres('syncscope'));
  for (let i = 0; i < 3; i++)
    await storeRun('demo', alice.id, 'mismatch', 10 + i, [
      missing('todos', '1#by_list["l1"]', 2 * i),
      missing('todos', '1#by_list["l2"]', 2 * i + 1),
      missing('lists', '1#by_owner["o"]', i)
    ]);
  await storeRun('demo', bob.id, 'inconclusive', 20);
  await storeRun('demo', bob.id, 'consistent', 21);
  await storeRun('demo', bob.id, 'consistent', 22);
  carolRun = await storeRun('demo', carol.id, 'consistent', 23);
  await storeRun('orders', 'u-orders-1', 'consistent', 30);
  await session.ops.query(
    `INSERT INTO syncscope.target_population (target, users, counted_at) VALUES ('demo', 10, now())
     ON CONFLICT (target) DO UPDATE SET users = 10, counted_at = now()`
  );
  await session.ops.query(
    `INSERT INTO syncscope.canary_status (target, user_id, agent, verdict, held_since, last_checkpoint_at, last_freshness_seconds)
     VALUES ('demo', $1, 'agent-a', 'consistent', now() - interval '3 hours', now() - interval '5 seconds', 0.42),
            ('demo', $2, 'agent-b', 'consistent', now() - interval '2 hours', now() - interval '10 minutes', 1.5)
     ON CONFLICT (target, user_id) DO UPDATE SET agent = excluded.agent, held_since = excluded.held_since,
       last_checkpoint_at = excluded.last_checkpoint_at, last_freshness_seconds = excluded.last_freshness_seconds`,
    [alice.id, bob.id]
  );
}, 240_000);

afterAll(async () => {
  await ops?.close();
  await session?.close();
});

const consoleUrl = () => session.stack.urls.console!;
const cells = (row: ReturnType<Page['getByTestId']>) => row.locator('td').allInnerTexts();

describe('the fleet view', () => {
  it('is linked from the overview and the navigation', async () => {
    await page.goto(`${consoleUrl()}/`);
    await page.getByRole('link', { name: /^Fleet view/ }).click();
    await page.waitForURL(`${consoleUrl()}/fleet`);
    await expect(
      page
        .getByRole('navigation', { name: 'main' })
        .getByRole('link', { name: /^Fleet/ })
        .getAttribute('href')
    ).resolves.toBe('/fleet');
  });

  it('shows the share of users verified in 24 h, and "unknown" for a target whose users were never counted', async () => {
    await page.goto(`${consoleUrl()}/fleet`);
    expect((await cells(page.getByTestId('verified-demo'))).slice(0, 4)).toEqual([
      'demo',
      '3',
      '10',
      '30.0 %'
    ]);
    expect((await cells(page.getByTestId('verified-orders'))).slice(0, 5)).toEqual([
      'orders',
      '1',
      '—',
      'unknown',
      'never counted'
    ]);
  });

  it('charts the verdicts per hour from the rollup, and names the tables and rules behind the differences', async () => {
    const labels = await page.getByTestId('verdict-hour').locator('.sr-only').allTextContents();
    expect(labels).toHaveLength(48);
    const totals: Record<string, number> = {};
    for (const label of labels)
      for (const m of label.matchAll(/(\d+) (consistent|mismatch|inconclusive|error)/g))
        totals[m[2]!] = (totals[m[2]!] ?? 0) + Number(m[1]);
    expect(totals).toEqual({ consistent: 4, mismatch: 3, inconclusive: 1 });

    const tables = await page.getByTestId('difference-tables').locator('tbody tr').allInnerTexts();
    expect(tables.map((r) => r.split('\t'))).toEqual([
      ['todos', '6', '3'],
      ['lists', '3', '3']
    ]);
    const rules = await page.getByTestId('difference-rules').locator('tbody tr').allInnerTexts();
    expect(rules.map((r) => r.split('\t'))).toEqual([
      ['by_list', '6', '3'],
      ['by_owner', '3', '3']
    ]);
  });

  it('lists the users with most runs not consistent, by email, and the canaries least fresh first', async () => {
    const users = page.getByTestId('problem-users').locator('tbody tr');
    await expect(users.count()).resolves.toBe(2);
    expect(await users.nth(0).locator('td').first().textContent()).toContain(alice.email);
    expect(await users.nth(0).locator('td').nth(2).textContent()).toBe('3 of 3');
    expect(await users.nth(1).locator('td').first().textContent()).toContain(bob.email);
    expect(await users.nth(1).locator('td').nth(2).textContent()).toBe('1 of 3');

    const canaries = page.getByTestId('canaries').locator('tbody tr');
    const order = await canaries.evaluateAll((rows) => rows.map((r) => r.getAttribute('data-testid')));
    // Least fresh first: bob's stream delivered 10 minutes ago, alice's seconds ago.
    expect(order.indexOf(`canary-${bob.id}`)).toBeLessThan(order.indexOf(`canary-${alice.id}`));
    const bobRow = await page.getByTestId(`canary-${bob.id}`).locator('td').allTextContents();
    expect(bobRow[0]).toContain(bob.email);
    expect(bobRow.slice(1)).toEqual(['demo', 'consistent', '10 min ago', '1.50 s', 'agent-b', '2 h']);
    const aliceRow = await page.getByTestId(`canary-${alice.id}`).locator('td').allTextContents();
    expect(aliceRow[0]).toContain(alice.email);
    expect(aliceRow[3]).toMatch(/^\d+ s ago$/);
    expect([aliceRow[1], aliceRow[2], ...aliceRow.slice(4)]).toEqual([
      'demo',
      'consistent',
      '0.42 s',
      'agent-a',
      '3 h'
    ]);
    await screenshot(page, 'fleet-view');
  });

  it('renders a consistent run stored compact, with its buckets counted per rule', async () => {
    await page.goto(`${consoleUrl()}/probes/${carolRun}`);
    await expect(page.getByText('Buckets (2 expected, 2 synced)').count()).resolves.toBe(1);
    expect(await page.getByTestId('buckets-by-rule').locator('td').allTextContents()).toEqual([
      'by_list',
      '2'
    ]);
    expect(await page.getByTestId('per-table').locator('tbody td').allTextContents()).toEqual([
      'todos',
      '20',
      '20'
    ]);
    expect(await page.getByTestId('probe-user').textContent()).toContain(carol.email);
    await screenshot(page, 'fleet-compact-run');
  });
});
