import {
  RECORDS_PER_WORKSPACE,
  subscribeToWorkspace
} from '@syncscope/agent/probe-integration/workspace-streams';
import { formatSubscription } from '@syncscope/core/sync-rules/subscription-text';
import { DEMO_USERS } from '@syncscope/demo/seed/seed-plan';
import type { Page } from 'playwright-core';
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
let page: Page;
const alice = DEMO_USERS.alice.id;
const workspace1 = formatSubscription(subscribeToWorkspace(1));

beforeAll(async () => {
  session = await startConsoleSession('operator', { streamsTarget: 'console_probe_streams' });
  page = session.page;
}, 240_000);

afterAll(() => session?.close());

/** The probe form, filled for target `streams` and alice; submitted by the caller. */
async function fillProbeForm(subscriptions: string, reason: string): Promise<void> {
  await page.goto(`${session.stack.urls.console}/probe`);
  await page.getByLabel(/^Target/).selectOption(STREAMS_TARGET);
  await page.getByLabel(/^User/).fill(alice);
  await page.getByLabel(/^Stream subscriptions/).fill(subscriptions);
  await page.getByLabel(/^Reason/).fill(reason);
}

const formError = () => page.locator('main [role=alert]').textContent();
/** The form's stream hints once they are those of the target named in `text` (they load after a change). */
const streamHints = (text: string) =>
  page.getByTestId('stream-hints').filter({ hasText: text }).textContent();

describe('probing with stream subscriptions from the console', () => {
  it('form → job → agent → stored run: the subscription travels with the job, is stored with the run and audited with the token', async () => {
    await fillProbeForm(`\n${workspace1}\n`, 'e2e: records of workspace 1 missing');
    await expect(streamHints(`rules of ${STREAMS_TARGET}:`)).resolves.toBe(
      `Streams in the rules of ${STREAMS_TARGET}: my_workspaces (auto-subscribed: synced without a line), workspace_records`
    );
    await screenshot(page, 'probe-form-subscriptions');
    await page.getByRole('button', { name: 'Run probe' }).click();
    await page.waitForURL(/\/probes\/jobs\//);
    await page.waitForURL(/\/probes\/[0-9a-f-]{36}$/, { timeout: 90_000 });
    const runId = page.url().split('/').at(-1)!;

    await expect(page.locator('[data-verdict]').first().textContent()).resolves.toBe('consistent');
    await expect(page.getByTestId('probe-subscriptions').textContent()).resolves.toBe(
      `Stream subscriptions${workspace1}`
    );
    const perTable = await page.getByTestId('per-table').locator('tbody tr').allTextContents();
    expect(perTable).toContain(`records${RECORDS_PER_WORKSPACE}${RECORDS_PER_WORKSPACE}`);
    await screenshot(page, 'probe-result-subscriptions');
    await page.getByRole('link', { name: 'probe again' }).click();
    await page.waitForURL(/\/probe\?/);
    await expect(page.getByLabel(/^Stream subscriptions/).inputValue()).resolves.toBe(workspace1);
    await expect(page.getByLabel(/^Target/).inputValue()).resolves.toBe(STREAMS_TARGET);

    const { rows: runs } = await session.ops.query(
      // A consistent run's report is stored compactly: its subscriptions live in the run's column only.
      `SELECT r.subscriptions, r.report->'token'->>'jti' AS jti,
         r.requested_by, j.subscriptions AS job_subscriptions
       FROM syncscope.probe_runs r JOIN syncscope.probe_jobs j ON j.id = r.job_id WHERE r.id = $1`,
      [runId]
    );
    expect(runs).toEqual([
      {
        subscriptions: [subscribeToWorkspace(1)],
        jti: expect.stringMatching(/^[0-9a-f-]{36}$/),
        requested_by: 'operator@example.com',
        job_subscriptions: [subscribeToWorkspace(1)]
      }
    ]);
    const { rows: audit } = await session.ops.query(
      `SELECT action, details->'subscriptions' AS subscriptions, details->>'jti' AS jti
       FROM syncscope.audit_log WHERE target = $1 AND subject_user = $2 ORDER BY seq`,
      [STREAMS_TARGET, alice]
    );
    expect(audit).toEqual([
      { action: 'probe.requested', subscriptions: [subscribeToWorkspace(1)], jti: null },
      { action: 'probe.token_minted', subscriptions: [subscribeToWorkspace(1)], jti: runs[0].jti },
      // Stored with its run, in the same transaction.
      { action: 'probe.run', subscriptions: null, jti: null }
    ]);
  });

  it('refuses a malformed line and an unknown stream, naming the line and the fix, and queues nothing', async () => {
    const jobs = async () =>
      (await session.ops.query('SELECT count(*)::int AS n FROM syncscope.probe_jobs')).rows[0].n as number;
    const before = await jobs();
    await fillProbeForm(`${workspace1}\nworkspace_records={"workspace_id":`, 'e2e: typo');
    await page.getByRole('button', { name: 'Run probe' }).click();
    await expect(formError()).resolves.toBe(
      'Subscriptions, line 2 (workspace_records={"workspace_id":): the parameters are not valid JSON (Unexpected end of JSON input). Write one subscription per line as NAME, NAME=PARAMS or NAME@PRIORITY=PARAMS with PARAMS a JSON object, e.g. list_todos={"list_id":"l1"}'
    );
    await screenshot(page, 'probe-form-subscription-error');

    await page.getByLabel(/^Stream subscriptions/).fill('workspace_record={"workspace_id":"w1"}');
    await page.getByRole('button', { name: 'Run probe' }).click();
    await expect(formError()).resolves.toBe(
      'Subscriptions, line 1 (workspace_record={"workspace_id":"w1"}): The sync rules define no stream "workspace_record": subscribe to one of "my_workspaces", "workspace_records".'
    );
    expect(await jobs()).toBe(before);

    // The demo target's rules have bucket definitions only: the form says so, and a subscription is refused.
    await page.getByLabel(/^Target/).selectOption('demo');
    await expect(streamHints('rules of demo')).resolves.toBe(
      'The rules of demo define no sync streams: their bucket definitions sync without subscriptions.'
    );
  });

  it('the probes history shows which subscriptions each probe used, to viewers too, who may not probe', async () => {
    const viewer = await (await session.browser.newContext()).newPage();
    await signIn(viewer, session.stack.urls.console!, credentialsOf(session.stack, 'viewer'));
    await viewer.goto(`${session.stack.urls.console}/probes?target=${STREAMS_TARGET}`);
    const rows = await viewer.getByTestId('probe-runs').locator('tbody tr').allTextContents();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toContain(`${alice}${workspace1}consistent`);
    await screenshot(viewer, 'probes-history-subscriptions');
    const forged = await viewer.evaluate(
      async ([target, userId, subscriptions]) => {
        const streams = await fetch(`/api/targets/${target}/streams`);
        const probe = await fetch('/api/probes', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ target, userId, subscriptions, reason: 'forged by a viewer' })
        });
        return [streams.status, probe.status];
      },
      [STREAMS_TARGET, alice, workspace1]
    );
    expect(forged).toEqual([403, 403]);
  });
});
