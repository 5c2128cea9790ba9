import { lstatSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeSecretFile } from './secrets.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});
const tempDir = async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'syncscope-secrets-'));
  dirs.push(dir);
  return dir;
};

describe('secret files the stack writes', () => {
  it('replace an older world-readable file with one only this user reads', async () => {
    const file = path.join(await tempDir(), 'demo-credentials.txt');
    writeFileSync(file, 'old\n', { mode: 0o644 });
    await writeSecretFile(file, 'admin@example.com secret-password\n');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).toBe('admin@example.com secret-password\n');
  });

  it('replace a symlink planted at the path instead of writing through it', async () => {
    const dir = await tempDir();
    const target = path.join(dir, 'elsewhere.txt');
    writeFileSync(target, 'untouched\n', { mode: 0o644 });
    const file = path.join(dir, 'secrets', 'agent-token');
    await writeSecretFile(file, 'first\n');
    await rm(file);
    symlinkSync(target, file);
    await writeSecretFile(file, 'token\n');
    expect(lstatSync(file).isSymbolicLink()).toBe(false);
    expect(readFileSync(target, 'utf8')).toBe('untouched\n');
    expect(statSync(path.join(dir, 'secrets')).mode & 0o777).toBe(0o700);
  });
});
