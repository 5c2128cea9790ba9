import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsoleSession, screenshot, startConsoleSession } from '../../e2e/console-stack.ts';

/** A slot as a service whose storage was reset would leave it: version 1 again, another suffix. */
const LEFT_BEHIND = 'powersync_1_0e83';

let session: ConsoleSession;
let page: Page;

beforeAll(async () => {
  session = await startConsoleSession('viewer');
  page = session.page;
}, 240_000);

afterAll(async () => {
  await session?.app
    .query('SELECT pg_drop_replication_slot($1) FROM pg_replication_slots WHERE slot_name = $1', [
      LEFT_BEHIND
    ])
    .catch(() => {});
  await session?.close();
});

/** The overview, reloaded until the agent's reading shows the slot (it reads every 10 s for the demo). */
async function overviewWithSlot(slot: string): Promise<void> {
  const until = Date.now() + 45_000;
  for (;;) {
    await page.goto(`${session.stack.urls.console}/`);
    if ((await page.getByTestId(`slot-${slot}`).count()) > 0) return;
    if (Date.now() > until) throw new Error(`the overview never showed slot ${slot}`);
    await new Promise((r) => setTimeout(r, 1_000));
  }
}

const mb = (text: string) => Number(/([\d.]+) MB/.exec(text)?.[1]);

describe('replication health on the overview', () => {
  it('shows a slot left behind, the WAL it retains, and the service’s own slot in use', async () => {
    await session.app.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [LEFT_BEHIND]);
    // WAL the left-behind slot's (absent) consumer never confirms: Postgres must keep it.
    await session.app.query(
      "SELECT pg_logical_emit_message(true, 'syncscope-e2e', repeat('x', 3 * 1024 * 1024))"
    );
    await overviewWithSlot(LEFT_BEHIND);

    const cells = await page.getByTestId(`slot-${LEFT_BEHIND}`).locator('td').allTextContents();
    expect(cells.slice(0, 4)).toEqual([LEFT_BEHIND, 'left behind', 'no', 'reserved']);
    expect(mb(cells[4]!)).toBeGreaterThanOrEqual(3);

    const health = page.getByTestId('replication-health-demo');
    const own = await health.locator('tr[data-testid^="slot-powersync_"]').allTextContents();
    expect(own.filter((row) => row.includes('active rules') && row.includes('yes'))).toHaveLength(1);

    const findings = await page.getByTestId('replication-findings-demo').locator('li').allTextContents();
    const finding = findings.find((f) => f.startsWith(`slot ${LEFT_BEHIND}`));
    expect(finding).toMatch(
      new RegExp(
        `^slot ${LEFT_BEHIND} is inactive and retains [\\d.]+ MB: left behind by rules version 1 \\(the service uses powersync_1_[0-9a-f]+, version 1\\)\\. Postgres keeps its WAL until it is dropped: SELECT pg_drop_replication_slot\\('${LEFT_BEHIND}'\\)$`
      )
    );
    expect(mb(finding!)).toBeGreaterThanOrEqual(3);
    await health.scrollIntoViewIfNeeded();
    await screenshot(page, 'replication-health');
  });
});
