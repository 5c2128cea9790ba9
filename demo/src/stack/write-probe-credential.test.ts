import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadOrCreateSigningKey } from '@syncscope/core';
import { demoStackFiles, writeDemoTargetsFile } from '@syncscope/core/probe/targets/demo-target';
import { resolveTarget, targetsSource } from '@syncscope/core/probe/targets/resolve-target';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startWriteProbeCredentialRotation,
  WRITE_PROBE_TOKEN_LIFETIME_SECONDS
} from './write-probe-credential.ts';

const RULES_PATH = fileURLToPath(new URL('../../../powersync/sync_rules.yaml', import.meta.url));

describe("the write probe's upload credential", () => {
  let home: string;
  beforeAll(async () => {
    home = await mkdtemp(path.join(os.tmpdir(), 'syncscope-write-credential-'));
  });
  afterAll(() => rm(home, { recursive: true, force: true }));

  it('lives at most 15 minutes, is rotated in place (0600, atomically), and each write probe reads the current one', async () => {
    const files = demoStackFiles(home);
    // The demo target as npm start leaves it: probe key and admin token files beside the credential.
    await loadOrCreateSigningKey(path.join(home, 'keys'), 'syncscope-probe-1');
    await mkdir(path.dirname(files.apiToken), { recursive: true, mode: 0o700 });
    await writeFile(files.apiToken, 'stack-api-token-0123456789\n', { mode: 0o600 });
    await writeDemoTargetsFile({
      home,
      syncUrl: 'http://127.0.0.1:7001',
      uploadUrl: 'http://127.0.0.1:8000/api/upload',
      syncRulesPath: RULES_PATH,
      writeProbe: { userId: 'u-writer', table: 'records', values: {}, markerColumn: 'title' }
    });
    const appKey = await loadOrCreateSigningKey(path.join(home, 'keys'), 'demo-app-1');
    const errors: Error[] = [];
    const rotation = await startWriteProbeCredentialRotation({
      file: files.writeProbeToken,
      appKey,
      audience: 'powersync-dev',
      userId: 'u-writer',
      everyMs: 300,
      onError: (error) => errors.push(error)
    });
    try {
      const first = (await readFile(files.writeProbeToken, 'utf8')).trim();
      const claims = decodeJwt(first);
      expect(claims.exp! - claims.iat!).toBe(WRITE_PROBE_TOKEN_LIFETIME_SECONDS);
      expect(WRITE_PROBE_TOKEN_LIFETIME_SECONDS).toBeLessThanOrEqual(15 * 60);
      expect(claims.sub).toBe('u-writer');
      expect((await stat(files.writeProbeToken)).mode & 0o777).toBe(0o600);

      // What a write probe gets: the target as resolved for it (the agent resolves it for every probe).
      const source = targetsSource(undefined, { SYNCSCOPE_HOME: home });
      const before = await resolveTarget(source, 'demo');
      expect(before.writeProbe?.uploadToken).toBe(first);

      let rotated = first;
      const until = Date.now() + 10_000;
      while (rotated === first && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 100));
        rotated = (await readFile(files.writeProbeToken, 'utf8')).trim();
      }
      expect(rotated).not.toBe(first);
      expect(decodeJwt(rotated).jti).not.toBe(claims.jti);
      const after = await resolveTarget(source, 'demo');
      expect(after.writeProbe?.uploadToken).toBe(rotated);
      expect((await stat(files.writeProbeToken)).mode & 0o777).toBe(0o600);
      // No temp file left behind, nothing failed.
      expect((await readdir(path.dirname(files.writeProbeToken))).filter((f) => f.endsWith('.tmp'))).toEqual(
        []
      );
      expect(errors).toEqual([]);
    } finally {
      rotation.stop();
    }
    // Stopped: the file no longer changes.
    const last = await readFile(files.writeProbeToken, 'utf8');
    await new Promise((r) => setTimeout(r, 700));
    expect(await readFile(files.writeProbeToken, 'utf8')).toBe(last);
  });
});
