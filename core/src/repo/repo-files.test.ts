import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { ERROR_CODES } from '../errors/error-codes.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

/** Every variable compose requires, each with a value no other appears in. */
const COMPOSE_ENV = {
  SYNCSCOPE_PG_PASSWORD: 'superuser-pw-marker',
  SYNCSCOPE_OPS_OWNER_PASSWORD: 'owner-pw',
  SYNCSCOPE_OPS_CONSOLE_PASSWORD: 'console-pw',
  SYNCSCOPE_OPS_AGENT_PASSWORD: 'agent-pw',
  SYNCSCOPE_DEMO_APP_PASSWORD: 'demo-app-pw',
  SYNCSCOPE_SOURCE_PASSWORD: 'source-pw',
  SYNCSCOPE_SYNC_API_TOKEN: 'x'.repeat(32),
  SYNCSCOPE_GRAFANA_PASSWORD: 'y'.repeat(16),
  SYNCSCOPE_AGENT_TOKEN: 'z'.repeat(32),
  SYNCSCOPE_PROBE_JWK: '{"kty":"OKP"}'
} satisfies Record<string, string>;

/** `docker-compose config` with exactly `vars` set (none of them from this process's environment). */
function composeConfig(vars: Record<string, string>, args: string[] = []): string {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SYNCSCOPE_')));
  try {
    return execFileSync('docker-compose', ['-f', 'docker-compose.yml', 'config', ...args], {
      cwd: ROOT,
      env: { ...env, ...vars },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe']
    });
  } catch (error) {
    throw new Error(String((error as { stderr?: string }).stderr ?? error));
  }
}

describe('repository files stay true', () => {
  it("the README's first lines give the run and test commands, and .ci/run runs exactly the test line", () => {
    const readme = read('README.md');
    const commands = [...readme.matchAll(/^```sh\n(.+)\n```/gm)].map((m) => m[1]!);
    expect(commands[0]).toMatch(/npm start$/);
    const testLine = commands[1]!;
    expect(testLine).toMatch(/npm test$/);
    const ciCommands = read('.ci/run')
      .split('\n')
      .filter((l) => l.trim() && !l.startsWith('#') && !l.startsWith('set ') && !l.startsWith('cd '));
    expect(ciCommands).toEqual([testLine]);
    expect(readme.indexOf(commands[1]!)).toBeLessThan(600);
  });

  it('docker-compose.yml is a valid compose file', () => {
    expect(composeConfig(COMPOSE_ENV, ['-q'])).toBe('');
  });

  it.each(Object.keys(COMPOSE_ENV))(
    'docker-compose.yml refuses to start without %s, saying what to set',
    (name) => {
      const env = Object.fromEntries(Object.entries(COMPOSE_ENV).filter(([key]) => key !== name));
      expect(() => composeConfig(env, ['-q'])).toThrow(new RegExp(`set ${name} to`));
    }
  );

  it('docker-compose.yml has no default passwords, and only powersync and setup use the superuser', () => {
    expect(read('docker-compose.yml')).not.toMatch(/\$\{[A-Z_]+:-/);
    const services = YAML.parse(composeConfig(COMPOSE_ENV)).services as Record<
      string,
      { environment?: object }
    >;
    const withSuperuser = Object.entries(services)
      .filter(
        ([name, service]) =>
          name !== 'postgres' &&
          JSON.stringify(service.environment ?? {}).includes(COMPOSE_ENV.SYNCSCOPE_PG_PASSWORD)
      )
      .map(([name]) => name);
    expect(withSuperuser.sort()).toEqual(['powersync', 'setup']);
    const env = (service: string) => (services[service]!.environment ?? {}) as Record<string, string>;
    expect(env('syncscope-console').SYNCSCOPE_OPS_DATABASE_URL).toMatch(/^postgres:\/\/syncscope_console:/);
    expect(env('syncscope-agent').SYNCSCOPE_OPS_DATABASE_URL).toMatch(/^postgres:\/\/syncscope_agent:/);
    expect(env('demo-backend').DEMO_DATABASE_URL).toMatch(/^postgres:\/\/demo_app:/);
  });

  it("compose runs SyncScope's compiled images: no TypeScript compiled and no console built at start", () => {
    const services = YAML.parse(composeConfig(COMPOSE_ENV)).services as Record<
      string,
      { image?: string; build?: { target?: string }; command?: string[] }
    >;
    const ours = Object.fromEntries(
      Object.entries(services)
        .filter(([, service]) => service.build)
        .map(([name, service]) => [name, [service.image, service.build!.target]])
    );
    expect(ours).toEqual({
      setup: ['syncscope/demo', 'demo'],
      'demo-backend': ['syncscope/demo', 'demo'],
      'syncscope-agent': ['syncscope/agent', 'agent'],
      'syncscope-console': ['syncscope/console', 'console']
    });
    for (const [name, service] of Object.entries(services))
      expect(JSON.stringify(service.command ?? []), name).not.toMatch(/tsx|next build|npm run build/);
  });

  it('the Dockerfile builds each runtime image on the slim base, as a non-root user, without compilers', () => {
    const stages = read('Dockerfile')
      .split(/^(?=FROM )/m)
      .filter((stage) => stage.startsWith('FROM '))
      .map((stage) => ({ name: /^FROM \S+ AS (\S+)/.exec(stage)?.[1], text: stage }));
    const byName = new Map(stages.map((s) => [s.name, s.text]));
    expect(byName.get('runtime')).toMatch(/^FROM \$\{NODE_IMAGE\} AS runtime/);
    expect(byName.get('runtime')).toMatch(/^USER node$/m);
    for (const target of ['agent', 'console', 'demo']) {
      const text = byName.get(target)!;
      expect(text, target).toMatch(new RegExp(`^FROM runtime AS ${target}`));
      expect(text, target).not.toMatch(/g\+\+|make|python3|apt-get|tsx|next build/);
      // A stage that switches to root switches back before its command.
      const users = [...text.matchAll(/^USER (\S+)$/gm)].map((m) => m[1]);
      if (users.length) expect(users.at(-1), target).toBe('node');
    }
  });

  it('prometheus/prometheus.yml passes promtool', () => {
    const out = execFileSync('promtool', ['check', 'config', 'prometheus/prometheus.yml'], {
      cwd: ROOT,
      encoding: 'utf8'
    });
    expect(out).toContain('SUCCESS');
  });

  it('alertmanager/alertmanager.yml passes amtool, groups by target and severity, and posts to a webhook', () => {
    const out = execFileSync('amtool', ['check-config', 'alertmanager/alertmanager.yml'], {
      cwd: ROOT,
      encoding: 'utf8'
    });
    expect(out).toContain('SUCCESS');
    const config = YAML.parse(read('alertmanager/alertmanager.yml'));
    expect(config.route.group_by).toEqual(['target', 'severity']);
    expect(config.receivers[0].webhook_configs[0].url).toMatch(/^https?:\/\//);
  });

  it('compose runs Prometheus with the alert rules, Alertmanager with its config, and the console reads alerts', () => {
    const services = YAML.parse(composeConfig(COMPOSE_ENV)).services as Record<
      string,
      { volumes?: string[]; environment?: Record<string, string> }
    >;
    // docker-compose 1.x prints volumes as `host:container:mode`, host paths absolute.
    const mounts = (service: string) =>
      (services[service]!.volumes ?? []).map((v) => {
        const [source, target] = v.split(':') as [string, string];
        return [path.relative(ROOT, source), target];
      });
    expect(mounts('prometheus')).toContainEqual(['prometheus/rules', '/etc/prometheus/rules']);
    expect(mounts('alertmanager')).toContainEqual([
      'alertmanager/alertmanager.yml',
      '/etc/alertmanager/alertmanager.yml'
    ]);
    const prometheus = YAML.parse(read('prometheus/prometheus.yml'));
    expect(prometheus.rule_files).toEqual(['rules/*.yml']);
    expect(prometheus.alerting.alertmanagers[0].static_configs[0].targets).toEqual(['alertmanager:9093']);
    expect(services['syncscope-console']!.environment!.SYNCSCOPE_PROMETHEUS_URL).toBe(
      'http://prometheus:9090'
    );
  });

  it("every relative link in the repository's Markdown names a file or folder that exists", () => {
    const docs = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.md'], {
      cwd: ROOT,
      encoding: 'utf8'
    })
      .split('\n')
      .filter((f) => f && !f.includes('node_modules/'));
    expect(docs).toContain('docs/architecture.md');
    const broken = docs.flatMap((file) =>
      [...read(file).matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)]
        .map((m) => m[1] as string)
        .filter((link) => !/^[a-z]+:/i.test(link))
        .filter((link) => !existsSync(path.join(ROOT, path.dirname(file), link)))
        .map((link) => `${file} -> ${link}`)
    );
    expect(broken).toEqual([]);
  });

  it('every error code follows SYNCSCOPE_E_<AREA>_<WHAT> and says what to do', () => {
    for (const [code, { description, status }] of Object.entries(ERROR_CODES)) {
      expect(code).toMatch(/^SYNCSCOPE_E_[A-Z]+(_[A-Z0-9]+)+$/);
      expect(description.length, code).toBeGreaterThan(20);
      expect([400, 401, 403, 404, 409, 413, 421, 429, 500, 503, 504]).toContain(status);
    }
  });

  it('docs/errors.md lists every error code (npm run docs:errors regenerates it)', () => {
    const doc = read('docs/errors.md');
    for (const code of Object.keys(ERROR_CODES)) expect(doc).toContain(`\`${code}\``);
  });
});
