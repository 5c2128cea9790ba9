import { readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { addConsoleUser } from '@syncscope/core/console-users/console-grants';
import { DEMO_USERS } from '@syncscope/demo/seed/seed-plan';
import type { RunningStack } from '@syncscope/demo/stack/start-stack';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { Browser, Request as BrowserRequest } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTE_POLICY, type RouteRule } from '../server/route-policy.ts';
import {
  credentialsOf,
  E2E_METRICS_TOKEN,
  launchChromium,
  REPO_ROOT,
  startConsoleStack
} from './console-stack.ts';

/**
 * The console's access rules against the real built console: every route under src/app has a rule
 * in the route table, and every route × identity answers as that rule says; cross-site requests,
 * `next` after sign-in, sign-in without JavaScript, throttling behind proxies, security headers.
 */
type Who = 'signed-out' | 'viewer' | 'operator' | 'admin' | 'staging-operator';
const IDENTITIES: Who[] = ['signed-out', 'viewer', 'operator', 'admin', 'staging-operator'];
const STAGING_OPERATOR = { email: 'staging-op@example.com', password: 'staging operator password' };
const EVIL = 'https://evil.example';

let stack: RunningStack;
let browser: Browser;
let ops: pg.Pool;
let consoleUrl: string;
const cookies = {} as Record<Who, string>;
const ids = { run: '', job: '', group: '', inspection: '' };

/** Signs in with JSON (as API clients do) and returns the session cookie; `xff` simulates a proxy hop. */
async function login(
  who: { email: string; password: string },
  headers: Record<string, string> = {}
): Promise<Response> {
  return fetch(`${consoleUrl}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(who)
  });
}

async function sessionOf(who: Who): Promise<string> {
  if (who === 'signed-out') return '';
  const response = await login(who === 'staging-operator' ? STAGING_OPERATOR : credentialsOf(stack, who));
  expect(response.status).toBe(200);
  return response.headers.get('set-cookie')!.split(';')[0]!;
}

function request(
  who: Who,
  url: string,
  init: { method?: string; body?: BodyInit; headers?: Record<string, string> } = {}
): Promise<Response> {
  return fetch(`${consoleUrl}${url}`, {
    method: init.method ?? 'GET',
    redirect: 'manual',
    body: init.body,
    headers: { ...(cookies[who] ? { cookie: cookies[who] } : {}), ...init.headers }
  });
}

/** A minimal client database with PowerSync's tables, for the inspector. */
async function clientDatabase(): Promise<Blob> {
  const file = path.join(os.tmpdir(), `syncscope-e2e-client-${process.pid}-${Date.now()}.db`);
  const db = new Database(file);
  db.exec(`CREATE TABLE ps_crud (id INTEGER PRIMARY KEY, tx_id INTEGER, data TEXT);
    CREATE TABLE ps_oplog (bucket INTEGER, op_id INTEGER, row_type TEXT, row_id TEXT, data TEXT);
    CREATE TABLE ps_buckets (id INTEGER PRIMARY KEY, name TEXT, last_op INTEGER, last_applied_op INTEGER, downloaded_size INTEGER);`);
  db.close();
  return new Blob([new Uint8Array(await readFile(file))]);
}

async function uploadInspection(who: Who): Promise<Response> {
  return request(who, '/api/inspector?target=demo&name=matrix.db', {
    method: 'POST',
    body: await clientDatabase()
  });
}

async function waitForRun(jobId: string): Promise<string> {
  for (let i = 0; i < 180; i++) {
    const { rows } = await ops.query<{ run_id: string | null; status: string }>(
      'SELECT run_id, status FROM syncscope.probe_jobs WHERE id = $1',
      [jobId]
    );
    if (rows[0]?.run_id) return rows[0].run_id;
    if (rows[0]?.status === 'failed') throw new Error(`probe job ${jobId} failed`);
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`probe job ${jobId} did not finish`);
}

beforeAll(async () => {
  stack = await startConsoleStack({ SYNCSCOPE_TRUSTED_PROXIES: '127.0.0.1, ::1' });
  consoleUrl = stack.urls.console!;
  browser = await launchChromium();
  ops = new pg.Pool({ connectionString: stack.urls.postgres('syncscope'), max: 2 });
  await addConsoleUser(ops, { ...STAGING_OPERATOR, role: 'operator', target: 'staging' }, 'e2e');
  for (const who of IDENTITIES) cookies[who] = await sessionOf(who);
  const enqueued = await request('operator', '/api/probes', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ target: 'demo', userId: DEMO_USERS.alice.id, reason: 'e2e route matrix' })
  });
  ids.job = ((await enqueued.json()) as { jobId: string }).jobId;
  ids.run = await waitForRun(ids.job);
  const group = await ops.query<{ id: string }>(
    `INSERT INTO syncscope.upload_error_groups
       (target, table_name, detail_pattern, retryable, example_detail, first_seen, last_seen, occurrences)
     VALUES ('demo', 'records', 'matrix-secret-detail', false, 'matrix-secret-detail', now(), now(), 1) RETURNING id`
  );
  ids.group = group.rows[0]!.id;
  ids.inspection = ((await (await uploadInspection('operator')).json()) as { id: string }).id;
}, 300_000);

afterAll(async () => {
  await ops?.end();
  await browser?.close();
  await stack?.stop();
});

/** Every route under src/app with its methods, read from the file system as Next does. */
async function appRoutes(): Promise<Map<string, Set<string>>> {
  const app = path.join(REPO_ROOT, 'dashboard', 'src', 'app');
  const routes = new Map<string, Set<string>>();
  for (const entry of await readdir(app, { recursive: true })) {
    const match = /^(.*?)\/?(page\.tsx|route\.ts)$/.exec(entry.split(path.sep).join('/'));
    if (!match) continue;
    const url = `/${match[1]!
      .split('/')
      .filter((s) => s && !/^\(.*\)$/.test(s))
      .join('/')}`;
    const methods =
      match[2] === 'page.tsx'
        ? ['GET']
        : [
            ...(await readFile(path.join(app, entry), 'utf8')).matchAll(
              /export (?:const|async function|function) (GET|POST|PUT|PATCH|DELETE)\b/g
            )
          ].map((m) => m[1]!);
    routes.set(url, new Set(methods));
  }
  return routes;
}

/** How each route × method is exercised: the URL, a body, and the target it concerns. */
interface Case {
  url: () => string;
  body?: () => Promise<BodyInit> | BodyInit;
  json?: boolean;
  /** `demo`: the role is needed on demo; `anywhere`: on any target; `all`: on all targets. */
  scope?: 'demo' | 'anywhere' | 'all';
  /** The status when allowed (default 200), and the redirect it may give. */
  allowed?: number;
  location?: () => RegExp;
}

const CASES: Record<string, Case> = {
  'GET /': { url: () => '/', scope: 'anywhere' },
  'GET /fleet': { url: () => '/fleet', scope: 'anywhere' },
  'GET /probe': { url: () => '/probe?target=demo', scope: 'demo' },
  'GET /probes': { url: () => '/probes?target=demo', scope: 'demo' },
  'GET /probes/[id]': { url: () => `/probes/${ids.run}`, scope: 'demo' },
  'GET /probes/jobs/[id]': {
    url: () => `/probes/jobs/${ids.job}`,
    scope: 'demo',
    allowed: 307,
    location: () => new RegExp(`/probes/${ids.run}$`)
  },
  'GET /trace': { url: () => '/trace?target=demo', scope: 'demo' },
  'GET /rules': { url: () => '/rules?target=demo', scope: 'demo' },
  'GET /rules/dry-run': { url: () => '/rules/dry-run?target=demo', scope: 'demo' },
  'GET /uploads': { url: () => '/uploads?target=demo', scope: 'demo' },
  'GET /uploads/[group]': { url: () => `/uploads/${ids.group}`, scope: 'demo' },
  'GET /inspector': { url: () => '/inspector', scope: 'anywhere' },
  'GET /inspector/[id]': { url: () => `/inspector/${ids.inspection}`, scope: 'demo' },
  'GET /audit': { url: () => '/audit', scope: 'anywhere' },
  'GET /admin/users': { url: () => '/admin/users', scope: 'all' },
  'GET /admin/audit-verify': { url: () => '/admin/audit-verify', scope: 'all' },
  'GET /login': { url: () => '/login' },
  'GET /forbidden': { url: () => '/forbidden' },
  'POST /api/admin/users': { url: () => '/api/admin/users', json: true, body: () => '{}', allowed: 400 },
  'POST /api/auth/login': { url: () => '/api/auth/login', json: true, body: () => '{}', allowed: 400 },
  'POST /api/auth/logout': { url: () => '/api/auth/logout' },
  'POST /api/ingest/v1/upload-results': { url: () => '/api/ingest/v1/upload-results', body: () => '{}' },
  'POST /api/inspector': {
    url: () => '/api/inspector?target=demo&name=matrix.db',
    body: clientDatabase,
    scope: 'demo',
    allowed: 201
  },
  'DELETE /api/inspector/[id]': { url: () => `/api/inspector/${ids.inspection}`, scope: 'demo' },
  'POST /api/probes': {
    // Valid up to the last check (a write probe takes no subscriptions): allowed means 400, not a job.
    url: () => '/api/probes',
    json: true,
    body: () => JSON.stringify({ kind: 'write', target: 'demo', subscriptions: 'x', reason: 'e2e matrix' }),
    scope: 'demo',
    allowed: 400
  },
  'POST /api/rules/dry-run': {
    // A draft over the console's limit: allowed means refused for its size, after the role checks.
    url: () => '/api/rules/dry-run',
    json: true,
    body: () => JSON.stringify({ target: 'demo', draft: '#'.repeat(300 * 1024), users: { kind: 'all' } }),
    scope: 'demo',
    allowed: 413
  },
  'POST /api/rules/dry-run/validate': {
    url: () => '/api/rules/dry-run/validate',
    json: true,
    body: () => JSON.stringify({ target: 'demo', draft: 'bucket_definitions: {}' }),
    scope: 'demo'
  },
  'GET /api/probes/jobs/[id]/events': { url: () => `/api/probes/jobs/${ids.job}/events`, scope: 'demo' },
  'GET /api/targets/[name]/streams': { url: () => '/api/targets/demo/streams', scope: 'demo' },
  'GET /api/targets/[name]/users': { url: () => '/api/targets/demo/users?q=a', scope: 'demo' },
  'GET /metrics': { url: () => '/metrics' },
  'GET /healthz': { url: () => '/healthz' },
  'GET /readyz': { url: () => '/readyz' }
};

const RANK = { viewer: 0, operator: 1, admin: 2 } as const;

/** The role `who` holds where the case needs it (staging-operator: operator on staging only). */
function holds(who: Who, scope: Case['scope'], role: keyof typeof RANK): boolean {
  if (who === 'signed-out') return false;
  if (who === 'staging-operator') return scope === 'anywhere' && RANK[role] <= RANK.operator;
  return RANK[who] >= RANK[role];
}

/** What the route table says `who` gets: [status, location pattern]. */
function expected(rule: RouteRule, kind: 'page' | 'api', c: Case, who: Who): [number, RegExp | null] {
  if (rule.access === 'public') return [c.allowed ?? 200, null];
  if (rule.access === 'ingest-key' || rule.access === 'metrics-token') return [401, null];
  if (who === 'signed-out') return kind === 'page' ? [307, /\/login\?next=%2F/] : [401, null];
  if (!holds(who, c.scope, rule.access)) return kind === 'page' ? [307, /\/forbidden\?needs=/] : [403, null];
  return [c.allowed ?? 200, c.location?.() ?? null];
}

describe('the route table', () => {
  it('has a rule for every route and method under src/app, and none for routes that do not exist', async () => {
    const routes = await appRoutes();
    const declared = new Map(
      Object.entries(ROUTE_POLICY).map(([url, policy]) => [url, new Set(Object.keys(policy.methods))])
    );
    expect(Object.fromEntries([...routes].map(([u, m]) => [u, [...m].sort()]))).toEqual(
      Object.fromEntries([...declared].map(([u, m]) => [u, [...m].sort()]))
    );
    const cases = [...routes].flatMap(([url, methods]) => [...methods].map((m) => `${m} ${url}`));
    expect(cases.sort()).toEqual(Object.keys(CASES).sort());
  });

  it('answers every route × identity as its rule says', async () => {
    const failures: string[] = [];
    for (const [key, c] of Object.entries(CASES)) {
      const [method, url] = key.split(' ') as [string, keyof typeof ROUTE_POLICY];
      const policy = ROUTE_POLICY[url];
      const rule = (policy.methods as Record<string, RouteRule>)[method]!;
      for (const who of IDENTITIES) {
        if (key === 'POST /api/auth/logout') cookies[who] = await sessionOf(who);
        if (key === 'DELETE /api/inspector/[id]')
          ids.inspection = ((await (await uploadInspection('admin')).json()) as { id: string }).id;
        const response = await request(who, c.url(), {
          method,
          body: await c.body?.(),
          headers: c.json ? { 'content-type': 'application/json' } : {}
        });
        await response.body?.cancel();
        const [status, location] = expected(rule, policy.kind, c, who);
        const got = `${response.status} ${response.headers.get('location') ?? ''}`;
        if (
          response.status !== status ||
          (location && !location.test(response.headers.get('location') ?? ''))
        )
          failures.push(`${key} as ${who}: got ${got}, expected ${status} ${location ?? ''}`);
      }
      if (key === 'POST /api/auth/logout') for (const who of IDENTITIES) cookies[who] = await sessionOf(who);
    }
    expect(failures).toEqual([]);
  });

  it('shows an operator of another target nothing of demo, and an admin of all targets everything', async () => {
    const pages = ['/', '/probes', '/uploads', '/inspector', '/trace', '/rules', '/probe', '/rules/dry-run'];
    const demoData = () => [ids.run, ids.inspection, 'matrix-secret-detail', 'data-testid="health-demo"'];
    for (const url of pages) {
      const html = await (await request('staging-operator', url)).text();
      for (const secret of demoData()) expect(html, `${url} shows ${secret}`).not.toContain(secret);
      expect(html).not.toMatch(/<option[^>]*>demo<\/option>/);
    }
    const probes = await (await request('admin', '/probes')).text();
    expect(probes).toContain(ids.run);
    const uploads = await (await request('viewer', '/uploads')).text();
    expect(uploads).toContain('matrix-secret-detail');
    // The job's live events of another target's probe: refused, not streamed.
    expect((await request('staging-operator', `/api/probes/jobs/${ids.job}/events`)).status).toBe(403);
  });

  it('filters the audit log to the targets an admin administers', async () => {
    await addConsoleUser(
      ops,
      {
        email: 'staging-admin@example.com',
        password: STAGING_OPERATOR.password,
        role: 'admin',
        target: 'staging'
      },
      'e2e'
    );
    const response = await login({ email: 'staging-admin@example.com', password: STAGING_OPERATOR.password });
    const cookie = response.headers.get('set-cookie')!.split(';')[0]!;
    const html = await (await fetch(`${consoleUrl}/audit`, { headers: { cookie } })).text();
    expect(html).not.toContain('e2e route matrix');
    expect(html).toContain('staging-op@example.com'); // user.added on staging
    const all = await (await request('admin', '/audit')).text();
    expect(all).toContain('e2e route matrix');
  });
});

describe('granting roles per target on the users page', () => {
  it('an admin grants an operator of staging the viewer role on demo, and revokes it', async () => {
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${consoleUrl}/login`);
    await page.getByLabel('Email').fill(credentialsOf(stack, 'admin').email);
    await page.getByLabel('Password').fill(credentialsOf(stack, 'admin').password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('signed-in-as').waitFor();
    await page.goto(`${consoleUrl}/admin/users`);
    await page.getByLabel('user', { exact: true }).selectOption(STAGING_OPERATOR.email);
    await page.getByLabel('role to grant').selectOption('viewer');
    await page.getByLabel('on target').selectOption('demo');
    await page.getByRole('button', { name: 'Grant' }).click();
    await expect(page.getByRole('status').textContent()).resolves.toBe(
      `${STAGING_OPERATOR.email} is now viewer on demo.`
    );
    const users = page.getByTestId('console-users');
    await users.getByText('viewer on demo').waitFor(); // the page refreshes from the server
    expect(await (await request('staging-operator', '/probes')).text()).toContain(ids.run);
    expect((await request('staging-operator', '/api/targets/demo/streams')).status).toBe(403);

    const row = users.locator('tr', { hasText: STAGING_OPERATOR.email });
    await row.locator('li', { hasText: 'viewer on demo' }).getByRole('button', { name: 'revoke' }).click();
    await page
      .getByRole('status')
      .getByText(/Revoked viewer on demo/)
      .waitFor();
    expect(await (await request('staging-operator', '/probes')).text()).not.toContain(ids.run);
    const { rows } = await ops.query<{ action: string; actor: string }>(
      "SELECT action, actor FROM syncscope.audit_log WHERE subject_user = $1 AND target = 'demo' ORDER BY id",
      [STAGING_OPERATOR.email]
    );
    expect(rows).toEqual([
      { action: 'user.role_granted', actor: 'admin@example.com' },
      { action: 'user.role_revoked', actor: 'admin@example.com' }
    ]);
  });
});

describe('cross-site requests', () => {
  const stateChanging = Object.entries(CASES).filter(([key]) => !key.startsWith('GET '));

  it.each(stateChanging)('%s with a foreign Origin is refused with 403', async (key, c) => {
    const [method] = key.split(' ') as [string];
    const foreign: Record<string, string>[] = [
      { origin: EVIL },
      { 'sec-fetch-site': 'cross-site' },
      { origin: 'null' }
    ];
    for (const headers of foreign) {
      const response = await request('admin', c.url(), {
        method,
        body: await c.body?.(),
        headers: { ...headers, ...(c.json ? { 'content-type': 'application/json' } : {}) }
      });
      expect(response.status, JSON.stringify(headers)).toBe(403);
      expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(
        /Cross-site request refused/
      );
    }
    // From the console's own origin the same request goes through to the route.
    const same = await request('admin', c.url(), {
      method,
      body: await c.body?.(),
      headers: { origin: consoleUrl, ...(c.json ? { 'content-type': 'application/json' } : {}) }
    });
    expect(same.status).not.toBe(403);
    if (key === 'POST /api/auth/logout') cookies.admin = await sessionOf('admin');
  });

  it('refuses a cross-site POST to a page (a server action) too', async () => {
    const response = await request('admin', '/admin/users', {
      method: 'POST',
      headers: { origin: EVIL, 'next-action': 'x' },
      body: '[]'
    });
    expect(response.status).toBe(403);
  });
});

describe('signing in', () => {
  it('never redirects off-site: /login?next=/%5Cexample.org/x goes to /', async () => {
    const html = await (await fetch(`${consoleUrl}/login?next=/%5Cexample.org/x`)).text();
    const form = /<form[^>]*>/.exec(html)?.[0] ?? '';
    expect(form).toContain('method="post"');
    expect(form).toContain('action="/api/auth/login"');
    expect(html).toMatch(/<input type="hidden" name="next" value="\/"/);
    const { email, password } = credentialsOf(stack, 'viewer');
    for (const next of ['/\\example.org/x', '/%5Cexample.org/x', '//example.org', 'https://example.org']) {
      const response = await fetch(`${consoleUrl}/api/auth/login`, {
        method: 'POST',
        redirect: 'manual',
        body: new URLSearchParams({ email, password, next })
      });
      expect(response.status).toBe(303);
      expect(response.headers.get('location')).toBe('/');
    }
    // In the browser, with the enhanced (JavaScript) form.
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${consoleUrl}/login?next=/%5Cexample.org/x`);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('signed-in-as').waitFor();
    expect(new URL(page.url()).origin).toBe(consoleUrl);
    expect(new URL(page.url()).pathname).toBe('/');
  });

  it('works without JavaScript as a plain POST form, and no credential ever appears in a URL', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    const urls: string[] = [];
    page.on('request', (r: BrowserRequest) => urls.push(r.url()));
    const { email, password } = credentialsOf(stack, 'operator');
    await page.goto(`${consoleUrl}/login?next=%2Fprobes`);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill('a wrong password!');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/login\?error=wrong/);
    await expect(page.getByRole('alert').textContent()).resolves.toBe('Wrong email or password.');
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${consoleUrl}/probes`);
    await expect(page.getByTestId('signed-in-as').textContent()).resolves.toBe(email);
    urls.push(page.url());
    const secrets = [
      password,
      encodeURIComponent(password),
      'a wrong password',
      'a+wrong+password',
      'password='
    ];
    for (const url of urls) for (const secret of secrets) expect(url).not.toContain(secret);
    expect(urls.some((u) => u.includes(encodeURIComponent(email)) || u.includes(email))).toBe(false);
    await context.close();
  });
});

describe('sign-in throttling behind trusted proxies', () => {
  // The console trusts 127.0.0.1 (our fetches' socket peer): X-Forwarded-For plays the proxy's hops.
  const attempt = (email: string, xff: string, password = 'not the password') =>
    login({ email, password }, { 'x-forwarded-for': xff });

  it('backs off per email and address; a spoofed left part of X-Forwarded-For does not reset it', async () => {
    for (let i = 0; i < 3; i++)
      expect((await attempt('mallory@example.com', `10.9.9.${i}, 203.0.113.7`)).status).toBe(401);
    const limited = await attempt(
      'mallory@example.com',
      `198.51.100.${Math.floor(Math.random() * 200)}, 203.0.113.7`
    );
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await limited.json()) as { error: { message: string } }).error.message).toMatch(
      /try again in \d+ s/
    );
  });

  it('guesses sent all at once get the free attempts and no more (each waits for the ones ahead of it)', async () => {
    const statuses = await Promise.all(
      Array.from({ length: 24 }, () => attempt('burst@example.com', '203.0.113.60').then((r) => r.status))
    );
    expect(statuses.filter((s) => s === 401)).toHaveLength(3);
    expect(statuses.filter((s) => s === 429)).toHaveLength(21);
  });

  it('counts the right-most address that is not a trusted proxy', async () => {
    for (let i = 0; i < 3; i++)
      expect((await attempt('eve@example.com', '198.51.100.1, 203.0.113.9, 127.0.0.1')).status).toBe(401);
    expect((await attempt('eve@example.com', '203.0.113.9')).status).toBe(429);
    expect((await attempt('eve@example.com', '198.51.100.1')).status).toBe(401);
  });

  it("an attacker's failures on a user's email from one address do not block that user from another", async () => {
    const operator = credentialsOf(stack, 'operator');
    for (let i = 0; i < 3; i++) expect((await attempt(operator.email, '203.0.113.20')).status).toBe(401);
    expect((await attempt(operator.email, '203.0.113.20')).status).toBe(429);
    expect((await attempt(operator.email, '203.0.113.21', operator.password)).status).toBe(200);
  });

  it('slows spraying over many emails from one address, not other addresses', async () => {
    for (let i = 0; i < 20; i++)
      expect((await attempt(`spray${i}@example.com`, '203.0.113.40')).status).toBe(401);
    expect((await attempt('spray-next@example.com', '203.0.113.40')).status).toBe(429);
    expect((await attempt('spray-next@example.com', '203.0.113.41')).status).toBe(401);
  });

  it('caps the wait at 15 minutes however many failures there were (backoff, never a lockout)', async () => {
    await ops.query(
      `INSERT INTO syncscope.login_failures (email, client_address)
       SELECT 'capped@example.com', '203.0.113.50' FROM generate_series(1, 60)`
    );
    const limited = await attempt('capped@example.com', '203.0.113.50');
    expect(limited.status).toBe(429);
    const wait = Number(limited.headers.get('retry-after'));
    expect(wait).toBeGreaterThan(890);
    expect(wait).toBeLessThanOrEqual(900);
  });
});

describe('security headers and cookies', () => {
  it('sends the security headers on every kind of response', async () => {
    const responses = [
      await request('admin', '/'),
      await request('signed-out', '/login'),
      await request('signed-out', '/'),
      await request('admin', '/no-such-page'),
      await request('admin', '/api/targets/demo/streams'),
      await request('signed-out', '/api/targets/demo/streams'),
      await request('signed-out', '/metrics'),
      await request('signed-out', '/metrics', { headers: { authorization: `Bearer ${E2E_METRICS_TOKEN}` } }),
      await request('admin', '/api/probes', { method: 'POST', headers: { origin: EVIL } })
    ];
    expect(responses.map((r) => r.status)).toEqual([200, 200, 307, 404, 200, 401, 401, 200, 403]);
    for (const response of responses) {
      const csp = response.headers.get('content-security-policy') ?? '';
      const scriptSrc = /script-src ([^;]*)/.exec(csp)?.[1] ?? '';
      expect(scriptSrc).toMatch(/'nonce-[A-Za-z0-9+/=]+'/);
      expect(scriptSrc).not.toContain('unsafe-inline');
      expect(csp).toContain("frame-ancestors 'none'");
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('referrer-policy')).toBe('same-origin');
    }
  });

  it('marks the session cookie Secure when a trusted proxy says the browser used HTTPS', async () => {
    const viewer = credentialsOf(stack, 'viewer');
    const https = await login(viewer, { 'x-forwarded-proto': 'https' });
    expect(https.headers.get('set-cookie')).toMatch(/;\s*Secure/i);
    expect(https.headers.get('set-cookie')).toMatch(/HttpOnly/i);
    expect(https.headers.get('set-cookie')).toMatch(/SameSite=Strict/i);
    const http = await login(viewer);
    expect(http.headers.get('set-cookie')).not.toMatch(/;\s*Secure/i);
  });
});
