import { OpsDatabase } from '@syncscope/core/ops-db/ops-database';
import type { ProbeReport } from '@syncscope/core/probe/probe-types';
import { probeReportFixture } from '@syncscope/core/testing/probe-report-fixture';
import { DEMO_USERS } from '@syncscope/demo/seed/seed-plan';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsoleSession, screenshot, startConsoleSession } from '../../e2e/console-stack.ts';

let session: ConsoleSession;
let page: Page;
const { alice, bob, carol } = DEMO_USERS;
/** A user the demo's users table does not hold: shown by id. */
const STRANGER = 'u-not-in-the-users-table';
const UNREACHABLE = {
  code: 'SYNCSCOPE_E_SERVICE_UNREACHABLE',
  message: 'The sync service at http://127.0.0.1:7001 did not answer within 5 s. Check that it runs.'
} as const;
const runs: Record<string, string> = {};

let ops: OpsDatabase;

/** Stores a run as an agent does (OpsDatabase.recordProbeRun), `minutesAgo` before now. */
function storeRun(
  userId: string,
  verdict: ProbeReport['verdict'],
  reason: ProbeReport['reason'],
  minutesAgo: number
): Promise<string> {
  const summary = verdict === 'consistent' ? 'Consistent' : `${verdict}: ${reason?.message}`;
  const startedAt = new Date(Date.now() - minutesAgo * 60_000).toISOString();
  return ops.recordProbeRun(
    probeReportFixture(verdict, {
      userId,
      summary,
      startedAt,
      durationMs: 1200,
      ...(reason ? { reason } : {})
    })
  );
}

beforeAll(async () => {
  session = await startConsoleSession('viewer');
  page = session.page;
  ops = new OpsDatabase(session.stack.urls.postgres('syncscope'));
  runs.alice = await storeRun(alice.id, 'inconclusive', UNREACHABLE, 1);
  runs.bob = await storeRun(
    bob.id,
    'mismatch',
    { code: 'SYNCSCOPE_E_ROWS_DIFFER', message: '2 rows differ from what the source and rules imply.' },
    2
  );
  runs.carol = await storeRun(carol.id, 'consistent', undefined, 3);
  runs.stranger = await storeRun(
    STRANGER,
    'inconclusive',
    { code: 'SYNCSCOPE_E_BUCKET_LIMIT', message: 'PSYNC_S2305: the user has 1,500 buckets (limit 1,000).' },
    4
  );
}, 240_000);

afterAll(async () => {
  await ops?.close();
  await session?.close();
});

const consoleUrl = () => session.stack.urls.console!;
const badgeColour = (p: Page) =>
  p
    .locator('main [data-verdict]')
    .first()
    .evaluate((el) => getComputedStyle(el).backgroundColor);

describe('four verdicts in the console', () => {
  it('an inconclusive run shows the amber inconclusive badge, its reason code and message, and the user by email', async () => {
    await page.goto(`${consoleUrl()}/probes/${runs.bob}`);
    const mismatchColour = await badgeColour(page);
    await page.goto(`${consoleUrl()}/probes/${runs.alice}`);
    await expect(page.locator('main [data-verdict]').first().textContent()).resolves.toBe('inconclusive');
    // Not mismatch's red: an outage is not an accusation.
    expect(await badgeColour(page)).not.toBe(mismatchColour);
    await expect(page.getByTestId('verdict-reason').textContent()).resolves.toBe(
      `${UNREACHABLE.code}: ${UNREACHABLE.message}`
    );
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe(
      `Probe of ${alice.email} on demo`
    );
    // The id stays visible: under the email and as its tooltip.
    await expect(page.getByTestId('probe-user').textContent()).resolves.toBe(`User${alice.email}${alice.id}`);
    await expect(page.getByTestId('probe-user').getByTitle(alice.id).count()).resolves.toBe(1);
    // It never compared: no "checksums match", no "every row is equal", said so instead.
    await expect(page.getByTestId('probe-not-compared').isVisible()).resolves.toBe(true);
    const text = (await page.locator('main').textContent()) ?? '';
    expect(text).not.toContain('checksums match');
    expect(text).not.toContain('Every expected row is present and equal');
    await page.goto(`${consoleUrl()}/probes/${runs.carol}`);
    await expect(page.getByTestId('probe-not-compared').count()).resolves.toBe(0);
    await page.goto(`${consoleUrl()}/probes/${runs.alice}`);
    await screenshot(page, 'probe-result-inconclusive');
  });

  it('the history filter for inconclusive lists only inconclusive runs, and the reason filter narrows them', async () => {
    await page.goto(`${consoleUrl()}/probes`);
    await page.getByLabel('Verdict').selectOption('inconclusive');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/verdict=inconclusive/);
    const rows = page.getByTestId('probe-runs').locator('tbody tr');
    await expect(rows.locator('[data-verdict]').allTextContents()).resolves.toEqual([
      'inconclusive',
      'inconclusive'
    ]);
    const texts = await rows.allTextContents();
    expect(texts[0]).toContain(`${alice.email}${alice.id}`);
    expect(texts[0]).toContain(UNREACHABLE.code);
    // A user the users table lacks is shown by id.
    expect(texts[1]).toContain(STRANGER);
    expect(texts[1]).toContain('SYNCSCOPE_E_BUCKET_LIMIT');
    await screenshot(page, 'probes-history-inconclusive');

    await page.getByLabel('Reason').selectOption('SYNCSCOPE_E_BUCKET_LIMIT');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/reason=SYNCSCOPE_E_BUCKET_LIMIT/);
    await expect(rows.allTextContents()).resolves.toEqual([expect.stringContaining(STRANGER)]);

    await page.goto(`${consoleUrl()}/probes?verdict=mismatch`);
    const mismatches = await rows.allTextContents();
    expect(mismatches).toEqual([expect.stringContaining(`${bob.email}${bob.id}`)]);
  });

  it('the overview counts each of the four verdicts and lists open problems by email with their reason', async () => {
    await page.goto(`${consoleUrl()}/`);
    // The runs stored above are the stack's only ones (it probes nothing on its own).
    const counts: Record<string, number> = { consistent: 1, mismatch: 1, inconclusive: 2, error: 0 };
    for (const [verdict, n] of Object.entries(counts))
      await expect(page.getByTestId(`verdict-tile-${verdict}`).textContent()).resolves.toBe(
        `${verdict} · 24 h${n}`
      );
    await expect(page.getByTestId('health-demo').locator('xpath=..').textContent()).resolves.toContain(
      '24 h: 1 consistent, 1 mismatch, 2 inconclusive'
    );
    const problems = await page.getByTestId('open-problems').locator('tr').allTextContents();
    const aliceRow = problems.find((p) => p.includes(alice.id));
    expect(aliceRow).toContain(`inconclusive${UNREACHABLE.code}demo${alice.email}${alice.id}`);
    expect(problems.some((p) => p.includes(carol.id))).toBe(false);
    await screenshot(page, 'overview-verdicts');

    await page.getByTestId('verdict-tile-inconclusive').click();
    await page.waitForURL(/\/probes\?verdict=inconclusive$/);
  });
});
