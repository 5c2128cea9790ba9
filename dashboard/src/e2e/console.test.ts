import { DEMO_USERS, recordId, workspaceId } from '@syncscope/demo/seed/seed-plan';
import type { RunningStack } from '@syncscope/demo/stack/start-stack';
import pg from 'pg';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  credentialsOf,
  launchChromium,
  screenshot,
  signIn,
  startConsoleStack,
  syncAdminToken
} from './console-stack.ts';

let stack: RunningStack;
let browser: Browser;
let app: pg.Pool;
let consoleUrl: string;

beforeAll(async () => {
  stack = await startConsoleStack();
  consoleUrl = stack.urls.console!;
  browser = await launchChromium();
  app = new pg.Pool({ connectionString: stack.urls.postgres('app'), max: 2 });
}, 240_000);

afterAll(async () => {
  await app?.end();
  await browser?.close();
  await stack?.stop();
});

async function operatorPage(): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await signIn(page, consoleUrl, credentialsOf(stack, 'operator'));
  return page;
}

/** Fills the probe form and waits for the stored result page. */
async function probe(page: Page, userId: string, reason: string, mode?: 'light' | 'full'): Promise<void> {
  await page.goto(`${consoleUrl}/probe`);
  await page.getByLabel(/^User/).fill(userId);
  await page.getByLabel(/^Reason/).fill(reason);
  if (mode) await page.getByLabel(/^Mode/).selectOption(mode);
  await page.getByRole('button', { name: 'Run probe' }).click();
  await page.waitForURL(/\/probes\/jobs\//);
  await page.getByTestId('probe-progress').waitFor();
  await page.waitForURL(/\/probes\/[0-9a-f-]{36}$/, { timeout: 90_000 });
}

async function setFaults(body: unknown): Promise<void> {
  const response = await fetch(`${stack.urls.sync}/api/dev/v1/faults`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${await syncAdminToken(stack)}`, 'content-type': 'application/json' },
    body: JSON.stringify(body)
  });
  expect(response.status).toBe(200);
}

describe('the console, end to end in Chromium', () => {
  it('signs in, shows the overview, and probes a consistent user live', async () => {
    const page = await operatorPage();
    await expect(page.getByRole('heading', { name: 'Overview' }).isVisible()).resolves.toBe(true);
    await screenshot(page, 'overview-empty');
    await probe(page, DEMO_USERS.alice.id, 'e2e: consistent user');
    await expect(page.locator('[data-verdict]').first().textContent()).resolves.toBe('consistent');
    await expect(page.getByTestId('probe-summary').textContent()).resolves.toMatch(
      /Consistent: \d+ rows in 2 buckets/
    );
    await screenshot(page, 'probe-consistent');
  });

  it('shows an injected fault as a mismatch that names the undelivered row', async () => {
    await setFaults({ omitRows: [{ table: 'records', id: recordId(1) }] });
    try {
      const page = await operatorPage();
      await probe(page, DEMO_USERS.alice.id, 'e2e: row missing on device');
      await expect(page.locator('[data-verdict]').first().textContent()).resolves.toBe('mismatch');
      const differences = page.getByTestId('differences');
      await expect(differences.textContent()).resolves.toContain(`records/${recordId(1)}`);
      await expect(differences.textContent()).resolves.toMatch(/not delivered.*service fault/s);
      await screenshot(page, 'probe-mismatch');
    } finally {
      await setFaults({});
    }
  });

  it('a light probe picked in the form runs in light mode; a difference it finds links the full probe that confirmed it', async () => {
    const page = await operatorPage();
    await probe(page, DEMO_USERS.alice.id, 'e2e: light probe', 'light');
    await expect(page.locator('[data-verdict]').first().textContent()).resolves.toBe('consistent');
    await expect(page.getByTestId('probe-mode').textContent()).resolves.toMatch(/^Mode\s*light$/);

    await setFaults({ omitRows: [{ table: 'records', id: recordId(1) }] });
    try {
      await probe(page, DEMO_USERS.alice.id, 'e2e: light probe of a missing row', 'light');
      const lightUrl = page.url();
      await expect(page.locator('[data-verdict]').first().textContent()).resolves.toBe('mismatch');
      await expect(page.getByTestId('probe-mode').textContent()).resolves.toMatch(
        /light · confirmed by full probe [0-9a-f-]{36}/
      );
      await screenshot(page, 'probe-light-confirmed');
      await page.getByTestId('confirmed-by-run').getByRole('link').click();
      await page.waitForURL((url) => url.href !== lightUrl);
      await expect(page.getByTestId('probe-mode').textContent()).resolves.toMatch(
        /full · light probe [0-9a-f-]{36}\s*found a difference; this full probe confirms it/
      );
      await expect(page.getByTestId('differences').textContent()).resolves.toContain(
        `records/${recordId(1)}`
      );
      await page.getByTestId('confirms-run').getByRole('link').click();
      await page.waitForURL(lightUrl);
    } finally {
      await setFaults({});
    }
  });

  it('traces a row, and says why a user without the membership does not get it', async () => {
    const { rows } = await app.query<{ id: string }>(
      'SELECT id FROM records WHERE workspace_id = $1 LIMIT 1',
      [workspaceId(3)]
    );
    const record = rows[0]!.id;
    await app.query('DELETE FROM workspace_memberships WHERE user_id = $1 AND workspace_id = $2', [
      DEMO_USERS.bob.id,
      workspaceId(3)
    ]);
    const page = await operatorPage();
    await page.goto(`${consoleUrl}/trace?target=demo&table=records&id=${record}&user=${DEMO_USERS.bob.id}`);
    await expect(page.getByTestId('source-row').textContent()).resolves.toContain(workspaceId(3));
    await expect(page.locator('main').textContent()).resolves.toContain(`by_workspace["${workspaceId(3)}"]`);
    const why = await page.getByTestId('why-not').allTextContents();
    expect(why.join(' ')).toMatch(/workspace_memberships|parameter query/);
    await expect(page.getByTestId('trace-summary').textContent()).resolves.toMatch(/does not|lacks|not hold/);
    await screenshot(page, 'row-trace');
  });

  it('shows row values as text: markup in a value stays inert', async () => {
    const payload = '<img src=x onerror="window.__xss=1">';
    await app.query('UPDATE records SET title = $1 WHERE id = $2', [payload, recordId(2)]);
    const page = await operatorPage();
    await page.goto(`${consoleUrl}/trace?target=demo&table=records&id=${recordId(2)}`);
    await expect(page.getByTestId('source-row').textContent()).resolves.toContain(payload);
    expect(await page.locator('main img').count()).toBe(0);
    expect(await page.evaluate(() => (window as { __xss?: number }).__xss)).toBeUndefined();
  });

  it('a viewer’s row trace reads only tables the rules read: catalogs and other tables are refused', async () => {
    const page = await (await browser.newContext()).newPage();
    await signIn(page, consoleUrl, credentialsOf(stack, 'viewer'));
    for (const table of [
      'pg_catalog.pg_authid',
      'information_schema.tables',
      'users',
      '"public"."records"'
    ]) {
      await page.goto(`${consoleUrl}/trace?target=demo&table=${encodeURIComponent(table)}&id=10`);
      const main = (await page.locator('main').textContent()) ?? '';
      expect(main).toContain('SYNCSCOPE_E_TABLE_NOT_IN_RULES: The sync rules do not read table');
      expect(main).toContain('public.records');
      expect(main).not.toMatch(/SCRAM-SHA-256|rolpassword/);
    }
  });

  it('finds users in the source database by email, and refuses bad probe input with the reason', async () => {
    const page = await operatorPage();
    await page.goto(`${consoleUrl}/probe`);
    await page.getByLabel(/^User/).fill('bob@');
    await page.waitForFunction(() => document.querySelectorAll('#user-matches option').length > 0);
    const options = await page
      .locator('#user-matches option')
      .evaluateAll((els) => els.map((e) => (e as HTMLOptionElement).value));
    expect(options).toEqual([DEMO_USERS.bob.id]);
    await page.getByLabel(/^User/).fill(DEMO_USERS.bob.id);
    await page.getByLabel(/^Extra JWT claims/).fill('{"org": ');
    await page.getByLabel(/^Reason/).fill('bad claims');
    await page.getByRole('button', { name: 'Run probe' }).click();
    await expect(page.locator('main [role=alert]').textContent()).resolves.toMatch(
      /Claims are not valid JSON/
    );
    const reserved = await page.evaluate(async () => {
      const response = await fetch('/api/probes', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          target: 'demo',
          userId: 'u',
          claims: { sub: 'someone-else' },
          reason: 'spoof'
        })
      });
      return { status: response.status, body: await response.json() };
    });
    expect(reserved.status).toBe(400);
    expect(reserved.body.error.message).toMatch(/may not set sub/);
    await screenshot(page, 'probe-form');
  });

  it('backs off failed sign-ins per email, and signing out ends the session', async () => {
    const attempt = () =>
      fetch(`${consoleUrl}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'mallory@example.com', password: 'guess-guess-guess' })
      });
    for (let i = 0; i < 3; i++) expect((await attempt()).status).toBe(401);
    const limited = await attempt();
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await limited.json()) as { error: { message: string } }).error.message).toMatch(
      /try again in \d+ s/
    );
    // Throttling behind proxies, per address and its cap: console-security.test.ts.

    const page = await operatorPage();
    await page.getByRole('button', { name: 'sign out' }).click();
    await page.waitForURL(/\/login/);
    await page.goto(`${consoleUrl}/probes`);
    expect(page.url()).toMatch(/\/login\?next=%2Fprobes/);
  });

  it('runs a synthetic write probe from the overview and shows every leg of the write path', async () => {
    const page = await operatorPage();
    // Before hydration the button cannot act, so it arrives disabled (no click that silently does nothing).
    const html = await (await page.request.get(`${consoleUrl}/`)).text();
    expect(html).toMatch(/<button[^>]*disabled=""[^>]*>run write probe/);
    await page.getByRole('button', { name: 'run write probe' }).click();
    await page.waitForURL(/\/probes\/jobs\//);
    await page.waitForURL(/\/probes\/[0-9a-f-]{36}$/, { timeout: 90_000 });
    await expect(page.getByTestId('probe-summary').textContent()).resolves.toMatch(/^Write path healthy/);
    const legs = await page.getByTestId('write-probe-legs').locator('tr').allTextContents();
    expect(legs.map((l) => l.split(/passed/)[0])).toEqual([
      'local-write',
      'backend-accepted',
      'visible-in-postgres',
      'replicated-back',
      'write-checkpoint'
    ]);
    await screenshot(page, 'write-probe');
  });

  it('a viewer reads results but cannot probe: no button, and a forged request gets 403', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signIn(page, consoleUrl, credentialsOf(stack, 'viewer'));
    await expect(page.getByRole('link', { name: /Probe a user/ }).count()).resolves.toBe(0);
    await page.goto(`${consoleUrl}/probes`);
    await expect(page.getByTestId('probe-runs').textContent()).resolves.toContain(DEMO_USERS.alice.id);
    await screenshot(page, 'probes-history');
    await page.goto(`${consoleUrl}/probe`);
    await expect(page.getByRole('button', { name: 'Run probe' }).count()).resolves.toBe(0);
    const forged = await page.evaluate(async (userId) => {
      const response = await fetch('/api/probes', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ target: 'demo', userId, reason: 'forged by a viewer' })
      });
      return { status: response.status, body: await response.json() };
    }, DEMO_USERS.alice.id);
    expect(forged.status).toBe(403);
    expect(forged.body.error.code).toBe('SYNCSCOPE_E_AUTH_FORBIDDEN');
    const anonymous = await fetch(`${consoleUrl}/api/probes`, { method: 'POST', body: '{}' });
    expect(anonymous.status).toBe(401);
    await page.goto(`${consoleUrl}/audit`);
    expect(page.url()).toContain('/forbidden');
  });

  it('the audit log shows each impersonation with its reason and the minted token', async () => {
    const page = await (await browser.newContext()).newPage();
    await signIn(page, consoleUrl, credentialsOf(stack, 'admin'));
    await page.goto(`${consoleUrl}/audit?subject=${DEMO_USERS.alice.id}`);
    const log = page.getByTestId('audit-log');
    await expect(log.textContent()).resolves.toContain('probe.requested');
    await expect(log.textContent()).resolves.toContain('e2e: row missing on device');
    await expect(log.textContent()).resolves.toContain('operator@example.com');
    await expect(log.textContent()).resolves.toMatch(/probe\.token_minted.*"jti":"[0-9a-f-]{36}"/s);
    await expect(log.textContent()).resolves.not.toContain('forged by a viewer');
    await screenshot(page, 'audit-log');
    await page.goto(`${consoleUrl}/rules?target=demo`);
    await expect(page.getByTestId('rules-yaml').textContent()).resolves.toContain('bucket_definitions');
    await screenshot(page, 'sync-rules');
    await page.goto(`${consoleUrl}/`);
    await expect(page.getByTestId('open-problems').textContent()).resolves.toContain('mismatch');
    await screenshot(page, 'overview');
    await page.emulateMedia({ colorScheme: 'dark' });
    const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    expect(background).not.toBe('rgb(255, 255, 255)'); // the dark theme follows the system
    await screenshot(page, 'overview-dark');
  });

  it("an admin verifies the audit log's hash chain and sees the first entry a superuser edited", async () => {
    const admin = await (await browser.newContext()).newPage();
    await signIn(admin, consoleUrl, credentialsOf(stack, 'admin'));
    await admin.goto(`${consoleUrl}/admin/audit-verify`);
    const verdict = admin.getByTestId('audit-verdict');
    await expect(verdict.getAttribute('data-intact')).resolves.toBe('true');
    const head = /Head ([0-9a-f]{64})/.exec((await verdict.textContent()) ?? '')?.[1];
    expect(head).toBeDefined();

    const superuser = new pg.Client({ connectionString: stack.urls.postgres('syncscope') });
    await superuser.connect();
    // Behind the append-only triggers, as only a superuser can go.
    const edit = async (reason: string | null) => {
      await superuser.query('BEGIN');
      await superuser.query('SET LOCAL session_replication_role = replica');
      await superuser.query('UPDATE syncscope.audit_log SET reason = $1 WHERE seq = 1', [reason]);
      await superuser.query('COMMIT');
    };
    const { rows } = await superuser.query('SELECT id::text, reason FROM syncscope.audit_log WHERE seq = 1');
    try {
      await edit('nothing happened');
      await admin.goto(`${consoleUrl}/admin/audit-verify?head=${head}`);
      await expect(verdict.getAttribute('data-intact')).resolves.toBe('false');
      await expect(verdict.textContent()).resolves.toMatch(
        new RegExp(`hash-mismatch\\) at entry id ${rows[0].id} \\(chain place 1`)
      );
      await screenshot(admin, 'audit-verify-tampered');
    } finally {
      await edit(rows[0].reason);
      await superuser.end();
    }
    await admin.goto(`${consoleUrl}/admin/audit-verify?head=${head}`);
    await expect(verdict.textContent()).resolves.toContain('the expected head is in the chain');

    const operator = await operatorPage();
    await operator.goto(`${consoleUrl}/admin/audit-verify`);
    expect(operator.url()).toContain('/forbidden');
  });
});
