import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createTestAuditSink } from '@syncscope/core/testing/test-audit-sink';
import { JwtVerifier } from '@syncscope/powersync/sync/jwt-verifier';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliCaptured } from '../cli/run-cli-captured.ts';
import { SecretScrubber } from '../output/secret-scrubber.ts';
import { resolveTarget, targetsSource } from '../probe/resolve-target.ts';
import { type AgentServer, startAgentServer } from './agent-server.ts';

const cli = (args: string[]) => runCliCaptured(args);

/**
 * The compose path: `probe-key generate` makes the key, the agent publishes its public half, and the
 * sync service (here the dev sync server's own verifier, configured as powersync/service.yaml is, with
 * the agent's JWKS in client_auth.jwks_uri) accepts the probe tokens signed with it.
 */
describe('probe keys for a sync service that trusts the agent', () => {
  let dir: string;
  let keyFile: string;
  let agent: AgentServer;
  let env: NodeJS.ProcessEnv;
  let targetsFile: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'syncscope-probe-jwks-'));
    keyFile = path.join(dir, 'probe-key.jwk');
    targetsFile = path.join(dir, 'targets.yaml');
    await writeFile(path.join(dir, 'rules.yaml'), 'bucket_definitions: {}\n');
    const target = (name: string, key: string) => `  ${name}:
    sync_url: http://127.0.0.1:1
    source_url: postgres://probe@127.0.0.1:1/app
    sync_rules: { path: rules.yaml }
    signing_key: ${key}
    audience: syncscope-probe
`;
    await writeFile(
      targetsFile,
      `targets:\n${target('prod', '{ kid: syncscope-probe-1, private_jwk: !env PROBE_JWK }')}${target(
        'shared-secret',
        '{ kid: hs-1, hs256_secret: !env HS }'
      )}${target('broken', '{ kid: k, private_jwk: !env NOT_SET }')}  admin-down:
    sync_url: http://127.0.0.1:1
    admin_url: http://127.0.0.1:1
    admin_token: !env ADMIN_TOKEN_NOT_SET
    source_url: postgres://probe@127.0.0.1:1/app
    sync_rules: { from_admin_api: true }
    signing_key: { kid: syncscope-probe-2, private_jwk: !env PROBE_JWK_2 }
    audience: syncscope-probe
`
    );
  });
  afterAll(async () => {
    await agent?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('generate writes the private key to a file of its own (0600) and prints only the public half', async () => {
    const { code, stdout } = await cli(['probe-key', 'generate', '--out', keyFile]);
    expect(code).toBe(0);
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    const privateJwk = JSON.parse(await readFile(keyFile, 'utf8'));
    expect(privateJwk).toMatchObject({ kty: 'OKP', crv: 'Ed25519', kid: 'syncscope-probe-1', alg: 'EdDSA' });
    expect(stdout).not.toContain(privateJwk.d);
    const printed = JSON.parse(stdout.trim().split('\n').at(-1)!);
    expect(printed).toEqual({
      kty: 'OKP',
      crv: 'Ed25519',
      x: privateJwk.x,
      kid: 'syncscope-probe-1',
      alg: 'EdDSA',
      use: 'sig'
    });
    env = {
      PROBE_JWK: JSON.stringify(privateJwk),
      PROBE_JWK_2: JSON.stringify({ ...privateJwk, kid: 'syncscope-probe-2' }),
      HS: Buffer.alloc(32, 7).toString('base64url')
    };
  });

  it('never overwrites a key, and refuses an unknown algorithm', async () => {
    const before = await readFile(keyFile, 'utf8');
    const again = await cli(['probe-key', 'generate', '--out', keyFile]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/exists; a probe key is never overwritten/);
    expect(await readFile(keyFile, 'utf8')).toBe(before);
    const badAlg = await cli(['probe-key', 'generate', '--out', path.join(dir, 'x.jwk'), '--alg', 'HS256']);
    expect(badAlg.code).toBe(2);
    expect(badAlg.stderr).toMatch(/use one of EdDSA, ES256, RS256/);
  });

  it("the agent publishes the public halves; the service's verifier accepts probe tokens through them", async () => {
    const scrubber = new SecretScrubber();
    const targets = targetsSource(targetsFile, env);
    agent = await startAgentServer({
      host: '127.0.0.1',
      port: 0,
      targets,
      logger: pino({ level: 'silent' }),
      scrubber,
      token: 'agent-token-0123456789-abcdef'
    });
    const jwks = (await (await fetch(`${agent.url}/.well-known/jwks.json`)).json()) as { keys: object[] };
    // The shared HS256 secret is never published; a target whose key cannot be read is skipped, not
    // fatal; a key is published whatever the rest of its target (here an admin API that is down and its
    // token unset).
    expect(jwks.keys.map((k) => (k as { kid: string }).kid)).toEqual([
      'syncscope-probe-1',
      'syncscope-probe-2'
    ]);
    expect(jwks.keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519' });
    for (const key of jwks.keys) expect(key).not.toHaveProperty('d');

    const verifier = new JwtVerifier({
      jwks_uri: ['http://127.0.0.1:1/app-keys-unreachable.json', `${agent.url}/.well-known/jwks.json`],
      audience: ['powersync-dev', 'syncscope-probe']
    });
    const target = await resolveTarget(targets, 'prod', scrubber);
    const audited = await createTestAuditSink('probe_jwks_mint');
    const minted = await audited.mint(target, 'u-alice').finally(() => audited.ops.close());
    const verified = await verifier.verify(minted.token);
    expect(verified.payload.sub).toBe('u-alice');
    expect(verified.kid).toBe('syncscope-probe-1');
  });
});
