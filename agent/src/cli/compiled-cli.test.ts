import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** Runs a command from the repository root with plain node: no tsx, no TypeScript. */
function run(command: string, args: string[]) {
  const r = spawnSync(command, args, {
    cwd: REPO,
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '' }
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('the compiled CLI (npm run build)', () => {
  beforeAll(() => {
    execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: REPO, stdio: 'pipe' });
  });

  it('the installed bin prints the commands', () => {
    const r = run(path.join(REPO, 'node_modules', '.bin', 'syncscope'), ['--help']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Usage: syncscope \[options\] \[command\]/);
    for (const command of ['probe', 'explain', 'agent', 'users', 'audit', 'inspect', 'write-probe'])
      expect(r.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
  });

  it("probe --help lists the probe's options and exit codes", () => {
    const r = run(process.execPath, ['agent/dist/syncscope.mjs', 'probe', '--help']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('--target <name>');
    expect(r.stdout).toContain('--partition-helpers <n>');
    expect(r.stdout).toContain('Exit codes: 0 consistent, 1 mismatch, 2 inconclusive');
  });

  it('bad arguments are refused with the code and the fix, as from source', () => {
    const r = run(process.execPath, ['agent/dist/syncscope.mjs', 'probe', '--target', 'demo']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("SYNCSCOPE_E_REQUEST_INVALID: required option '--user <id>' not specified");
  });

  it('a command loads its implementation when it runs: a missing targets file is named', () => {
    const r = run(process.execPath, [
      'agent/dist/syncscope.mjs',
      'source-role',
      '--target',
      'x',
      '--targets',
      '/nonexistent/targets.yaml'
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^SYNCSCOPE_E_[A-Z_]+: .*\/nonexistent\/targets\.yaml/m);
  });
});
