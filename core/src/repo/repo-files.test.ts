import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../errors/error-codes.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

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
    const out = execFileSync('docker-compose', ['-f', 'docker-compose.yml', 'config', '-q'], {
      cwd: ROOT,
      env: {
        ...process.env,
        SYNCSCOPE_SYNC_API_TOKEN: 'x'.repeat(32),
        SYNCSCOPE_GRAFANA_PASSWORD: 'y'.repeat(16),
        SYNCSCOPE_AGENT_TOKEN: 'z'.repeat(32),
        SYNCSCOPE_PROBE_JWK: '{"kty":"OKP"}'
      },
      encoding: 'utf8'
    });
    expect(out).toBe('');
  });

  it('prometheus/prometheus.yml passes promtool', () => {
    const out = execFileSync('promtool', ['check', 'config', 'prometheus/prometheus.yml'], {
      cwd: ROOT,
      encoding: 'utf8'
    });
    expect(out).toContain('SUCCESS');
  });

  it('every error code follows SYNCSCOPE_E_<AREA>_<WHAT> and says what to do', () => {
    for (const [code, { description, status }] of Object.entries(ERROR_CODES)) {
      expect(code).toMatch(/^SYNCSCOPE_E_[A-Z]+(_[A-Z0-9]+)+$/);
      expect(description.length, code).toBeGreaterThan(20);
      expect([400, 401, 403, 404, 409, 413, 429, 500, 503, 504]).toContain(status);
    }
  });

  it('docs/errors.md lists every error code (npm run docs:errors regenerates it)', () => {
    const doc = read('docs/errors.md');
    for (const code of Object.keys(ERROR_CODES)) expect(doc).toContain(`\`${code}\``);
  });
});
