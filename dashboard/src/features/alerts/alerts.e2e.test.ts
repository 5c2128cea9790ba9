import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { type ConsoleSession, REPO_ROOT, screenshot, startConsoleSession } from '../../e2e/console-stack.ts';

/**
 * A real Prometheus (Debian's binary) with the repository's rule files, scraping a metrics endpoint this
 * test serves in place of an agent whose probes of target `demo` mismatched 4 times in a row.
 */
let session: ConsoleSession;
let page: Page;
let prometheus: ChildProcess | undefined;
let agentMetrics: http.Server;
let prometheusPort: number;

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });

async function startPrometheus(consoleUrl: string, scrapePort: number): Promise<ChildProcess> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'syncscope-prometheus-'));
  const config = {
    global: {
      scrape_interval: '1s',
      evaluation_interval: '1s',
      external_labels: { console_url: consoleUrl }
    },
    rule_files: [path.join(REPO_ROOT, 'prometheus/rules/*.yml')],
    scrape_configs: [
      { job_name: 'syncscope-agent', static_configs: [{ targets: [`127.0.0.1:${scrapePort}`] }] }
    ]
  };
  await writeFile(path.join(dir, 'prometheus.yml'), YAML.stringify(config));
  return spawn(
    'prometheus',
    [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${prometheusPort}`
    ],
    { stdio: 'ignore' }
  );
}

interface PromAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: string;
}
async function firing(name: string, ms = 60_000): Promise<PromAlert> {
  const until = Date.now() + ms;
  for (;;) {
    const answer = await fetch(`http://127.0.0.1:${prometheusPort}/api/v1/alerts`)
      .then((r) => r.json() as Promise<{ data: { alerts: PromAlert[] } }>)
      .catch(() => null);
    const found = answer?.data.alerts.find((a) => a.labels.alertname === name && a.state === 'firing');
    if (found) return found;
    if (Date.now() > until) throw new Error(`${name} did not fire in ${ms} ms`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

beforeAll(async () => {
  prometheusPort = await freePort();
  agentMetrics = http.createServer((_request, response) => {
    response.setHeader('content-type', 'text/plain; version=0.0.4');
    response.end(
      '# TYPE syncscope_probe_consecutive_mismatches gauge\nsyncscope_probe_consecutive_mismatches{target="demo"} 4\n'
    );
  });
  await new Promise<void>((resolve) => agentMetrics.listen(0, '127.0.0.1', resolve));
  session = await startConsoleSession('viewer', {
    env: { SYNCSCOPE_PROMETHEUS_URL: `http://127.0.0.1:${prometheusPort}` }
  });
  page = session.page;
}, 240_000);

afterAll(async () => {
  prometheus?.kill();
  agentMetrics?.close();
  await session?.close();
});

describe('firing alerts on the overview', () => {
  it('says so, without failing the page, while Prometheus is unreachable', async () => {
    await page.goto(`${session.stack.urls.console}/`);
    await expect(page.getByTestId('alerts-unreachable').textContent()).resolves.toMatch(
      new RegExp(
        `Prometheus at http://127.0.0.1:${prometheusPort} did not list its alerts .*SYNCSCOPE_PROMETHEUS_URL`
      )
    );
    // The rest of the overview is still there.
    await page.getByTestId('health-demo').waitFor();
  });

  it('lists an alert firing in Prometheus with a link to the probes that caused it', async () => {
    const consoleUrl = session.stack.urls.console!;
    prometheus = await startPrometheus(consoleUrl, (agentMetrics.address() as net.AddressInfo).port);
    const alert = await firing('SyncScopeProbeMismatchPersisting');
    // Prometheus itself links the console through the external label, for Alertmanager's receivers.
    expect(alert.annotations.runbook_url).toBe(`${consoleUrl}/probes?target=demo&verdict=mismatch`);

    await page.goto(`${consoleUrl}/`);
    const list = page.getByTestId('firing-alerts');
    const link = list.getByRole('link', { name: "demo: a user's probe found a mismatch 4 runs in a row" });
    expect(await link.getAttribute('href')).toBe('/probes?target=demo&verdict=mismatch');
    expect(await list.textContent()).toContain('critical');
    await screenshot(page, 'overview-firing-alerts');
    await link.click();
    await page.waitForURL(`${consoleUrl}/probes?target=demo&verdict=mismatch`);
  });
});
