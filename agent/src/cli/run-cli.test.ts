import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliCaptured } from './run-cli-captured.ts';

let dir: string;
let targetsFile: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'syncscope-cli-'));
  targetsFile = path.join(dir, 'targets.yaml');
  await writeFile(path.join(dir, 'rules.yaml'), 'bucket_definitions: {}\n');
  await writeFile(
    targetsFile,
    `targets:
  prod:
    sync_url: https://sync.example.com
    source_url: !env PROD_SOURCE_URL
    sync_rules: { path: rules.yaml }
    signing_key: { kid: probe-1, hs256_secret: !env PROD_HS }
    audience: syncscope-probe
  staging:
    sync_url: https://sync.staging.example.com
    source_url: !env STAGING_SOURCE_URL
    sync_rules: { path: rules.yaml }
    signing_key: { kid: probe-1, hs256_secret: !env STAGING_HS }
    audience: syncscope-probe
`
  );
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  const { code, stdout, stderr } = await runCliCaptured(args, { env: { SYNCSCOPE_HOME: dir, ...env } });
  // Never a stack trace.
  expect(`${stdout}${stderr}`).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
  return { code, stdout, stderr };
}

describe('syncscope CLI: argument errors exit 2 with CODE: message', () => {
  it('an unknown target names the targets file and its targets', async () => {
    const r = await cli([
      'probe',
      '--reason',
      'test',
      '--target',
      'prdo',
      '--user',
      'u1',
      '--targets',
      targetsFile
    ]);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `SYNCSCOPE_E_TARGET_UNKNOWN: No target named "prdo" in ${targetsFile}; it has targets "prod", "staging".\n`
    );
  });

  it('the default targets file is $SYNCSCOPE_HOME/targets.yaml', async () => {
    const r = await cli(['probe', '--reason', 'test', '--target', 'prdo', '--user', 'u1']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`No target named "prdo" in ${targetsFile}`);
  });

  it('a missing targets file says how to get one', async () => {
    const missing = path.join(dir, 'none.yaml');
    const r = await cli([
      'probe',
      '--reason',
      'test',
      '--target',
      'demo',
      '--user',
      'u1',
      '--targets',
      missing
    ]);
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(
      `SYNCSCOPE_E_TARGETS_INVALID: No targets file at ${missing}. Start the demo stack (npm start) to get one with target "demo", or write one (docs/targets.md) and pass --targets FILE.\n`
    );
  });

  it('a --mode other than light or full names both', async () => {
    const r = await cli([
      'probe',
      '--reason',
      'test',
      '--target',
      'prod',
      '--user',
      'u1',
      '--mode',
      'quick',
      '--targets',
      targetsFile
    ]);
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(
      `SYNCSCOPE_E_REQUEST_INVALID: option '--mode <mode>' argument 'quick' is invalid. use light or full (got "quick").\n`
    );
  });

  it('bad --claims JSON', async () => {
    const r = await cli([
      'probe',
      '--reason',
      'test',
      '--target',
      'prod',
      '--user',
      'u1',
      '--claims',
      '{tenant: 1}',
      '--targets',
      targetsFile
    ]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(
      /^SYNCSCOPE_E_REQUEST_INVALID: --claims is not valid JSON \(.+\); pass an object, e.g. --claims '\{"tenant_id":"t1"\}'\n$/
    );
  });

  it('--claims that is not an object, or sets a reserved claim', async () => {
    const notObject = await cli([
      'probe',
      '--reason',
      'test',
      '--target',
      'prod',
      '--user',
      'u1',
      '--claims',
      '[1,2]'
    ]);
    expect(notObject.code).toBe(3);
    expect(notObject.stderr).toBe(
      `SYNCSCOPE_E_REQUEST_INVALID: --claims must be a JSON object of claims, e.g. '{"tenant_id":"t1"}'\n`
    );
    const reserved = await cli([
      'probe',
      '--reason',
      'test',
      '--target',
      'prod',
      '--user',
      'u1',
      '--claims',
      '{"sub":"someone-else"}'
    ]);
    expect(reserved.code).toBe(3);
    expect(reserved.stderr).toBe(
      'SYNCSCOPE_E_PROBE_TOKEN_INVALID: --claims may not set sub: the probe sets sub, aud, iss, iat, exp, jti, syncscope_probe itself (the user is --user, the audience comes from the target)\n'
    );
  });

  it('with --json, a failure is also a JSON error on stdout', async () => {
    const r = await cli(['probe', '--reason', 'test', '--target', 'prdo', '--user', 'u1', '--json']);
    expect(r.code).toBe(3);
    expect(JSON.parse(r.stdout)).toEqual({
      error: {
        code: 'SYNCSCOPE_E_TARGET_UNKNOWN',
        message: expect.stringContaining('No target named "prdo"')
      }
    });
  });

  it('an unset !env variable of the target is named', async () => {
    const r = await cli(['probe', '--reason', 'test', '--target', 'prod', '--user', 'u1'], {
      PROD_HS: Buffer.alloc(32).toString('base64url')
    });
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(
      `SYNCSCOPE_E_TARGETS_INVALID: ${targetsFile}: targets.prod.source_url: environment variable PROD_SOURCE_URL (from !env) is not set; set it and run again\n`
    );
  });

  it('the demo target from the default file, before npm start ran, says to run it', async () => {
    const home = await mkdtemp(path.join(os.tmpdir(), 'syncscope-cli-home-'));
    try {
      const { writeDemoTargetsFile } = await import('@syncscope/core/probe/targets/demo-target');
      await writeDemoTargetsFile({
        home,
        syncUrl: 'http://127.0.0.1:1',
        uploadUrl: 'http://127.0.0.1:2/api/upload',
        syncRulesPath: path.join(dir, 'rules.yaml')
      });
      const r = await cli(['probe', '--reason', 'test', '--target', 'demo', '--user', 'u1'], {
        SYNCSCOPE_HOME: home
      });
      expect(r.code).toBe(3);
      expect(r.stderr).toContain(
        'targets.demo.admin_token: environment variable SYNCSCOPE_DEMO_API_TOKEN (from !env) is not set'
      );
      expect(r.stderr).toContain(
        `The demo stack writes ${home}/keys/syncscope-probe-1.private.jwk.json and ${home}/secrets/sync-api-token when it starts: run npm start first, with the same SYNCSCOPE_HOME.`
      );
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });

  it.each([
    [
      '{list_id: 1}',
      /^SYNCSCOPE_E_STREAM_SUBSCRIPTION_INVALID: --subscribe 'list_todos=\{list_id: 1\}': the parameters are not valid JSON \(.+\); write NAME, NAME=PARAMS or NAME@PRIORITY=PARAMS with PARAMS a JSON object, e\.g\. --subscribe 'list_todos=\{"list_id":"l1"\}'\n$/
    ],
    [
      '["l1"]',
      /^SYNCSCOPE_E_STREAM_SUBSCRIPTION_INVALID: --subscribe 'list_todos=\["l1"\]': the parameters must be a JSON object of subscription parameters; /
    ],
    [
      'null',
      /^SYNCSCOPE_E_STREAM_SUBSCRIPTION_INVALID: --subscribe 'list_todos=null': the parameters must be a JSON object/
    ]
  ])('--subscribe with parameters %s', async (parameters, message) => {
    for (const command of [
      ['probe', '--reason', 'test', '--user', 'u1'],
      ['explain', '--table', 'records', '--id', 'r1', '--user', 'u1']
    ]) {
      const r = await cli([...command, '--target', 'prod', '--subscribe', `list_todos=${parameters}`]);
      expect(r.code).toBe(command[0] === 'probe' ? 3 : 2); // a probe that cannot run: the error verdict's code
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(message);
    }
  });

  it.each([
    ['=', 'the stream name is missing'],
    ['@1={"a":1}', 'the stream name is missing'],
    ['list_todos@high={"a":1}', 'the priority "high" is not 0, 1, 2 or 3'],
    ['list_todos@4', 'the priority "4" is not 0, 1, 2 or 3']
  ])('--subscribe %s', async (value, problem) => {
    const r = await cli([
      'probe',
      '--reason',
      'test',
      '--target',
      'prod',
      '--user',
      'u1',
      '--subscribe',
      value
    ]);
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(
      `SYNCSCOPE_E_STREAM_SUBSCRIPTION_INVALID: --subscribe '${value}': ${problem}; write NAME, NAME=PARAMS or NAME@PRIORITY=PARAMS with PARAMS a JSON object, e.g. --subscribe 'list_todos={"list_id":"l1"}'\n`
    );
  });

  it.each([
    [
      ['probe', '--reason', 'test', '--target', 'prod'],
      "SYNCSCOPE_E_REQUEST_INVALID: required option '--user <id>' not specified\n"
    ],
    [
      ['probe', '--reason', 'test', '--user', 'u1'],
      "SYNCSCOPE_E_REQUEST_INVALID: required option '--target <name>' not specified\n"
    ],
    [
      ['probe', '--reason', 'test', '--target', 'prod', '--user', 'u1', '--deadline', '-3'],
      "SYNCSCOPE_E_REQUEST_INVALID: option '--deadline <seconds>' argument '-3' is invalid. use a number of seconds between 0 and 3600.\n"
    ],
    [
      ['probe', '--reason', 'test', '--target', 'prod', '--user', 'u1', '--colour'],
      "SYNCSCOPE_E_REQUEST_INVALID: unknown option '--colour'\n"
    ],
    [
      ['explain', '--target', 'prod', '--id', 'x'],
      "SYNCSCOPE_E_REQUEST_INVALID: required option '--table <table>' not specified\n"
    ],
    [
      ['agent', '--port', 'http'],
      "SYNCSCOPE_E_REQUEST_INVALID: option '--port <port>' argument 'http' is invalid. use a port number (0-65535).\n"
    ],
    [
      ['explain', '--target', 'prod', '--table', 'records', '--id', 'x', '--subscribe', 'lists'],
      'SYNCSCOPE_E_REQUEST_INVALID: --subscribe needs --user: subscriptions decide which stream buckets one user holds. Add --user ID, or drop --subscribe.\n'
    ],
    [
      ['agent', '--partition-helpers', 'two'],
      "SYNCSCOPE_E_REQUEST_INVALID: option '--partition-helpers <n>' argument 'two' is invalid. use a whole number of threads from 0 (none) to 16.\n"
    ]
  ])('%j', async (args, message) => {
    const r = await cli(args);
    expect(r.code).toBe(args[0] === 'probe' ? 3 : 2);
    expect(r.stderr).toBe(message);
  });

  it('an unknown command suggests the right one', async () => {
    const r = await cli(['prbe']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("SYNCSCOPE_E_REQUEST_INVALID: unknown command 'prbe'");
    expect(r.stderr).toContain('probe');
  });

  it('--help exits 0 and lists the exit codes', async () => {
    const r = await cli(['probe', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      'Exit codes: 0 consistent, 1 mismatch, 2 inconclusive (the service or source could not be checked; retry later), 3 error'
    );
  });

  it('the agent refuses to start without SYNCSCOPE_AGENT_TOKEN, on any address; --insecure-local is gone', async () => {
    for (const host of ['127.0.0.1', '0.0.0.0']) {
      const noToken = await cli(['agent', '--port', '0', '--host', host, '--targets', targetsFile]);
      expect(noToken.code).toBe(2);
      expect(noToken.stderr).toMatch(
        /^SYNCSCOPE_E_CONFIG_INVALID: SYNCSCOPE_AGENT_TOKEN is not set: POST \/probes needs a bearer token in every mode\./
      );
    }
    const insecure = await cli(['agent', '--port', '0', '--insecure-local', '--targets', targetsFile]);
    expect(insecure.code).toBe(2);
    expect(insecure.stderr).toContain("unknown option '--insecure-local'");
    const badHost = await cli(
      ['agent', '--port', '0', '--allowed-host', 'http://x', '--targets', targetsFile],
      {
        SYNCSCOPE_AGENT_TOKEN: 'agent-token-0123456789-abcdef'
      }
    );
    expect(badHost.code).toBe(2);
    expect(badHost.stderr).toContain(
      'SYNCSCOPE_E_CONFIG_INVALID: --allowed-host "http://x" is not a host name'
    );
    const short = await cli(['agent', '--port', '0', '--targets', targetsFile], {
      SYNCSCOPE_AGENT_TOKEN: 'short'
    });
    expect(short.code).toBe(2);
    expect(short.stderr).toContain('SYNCSCOPE_AGENT_TOKEN is shorter than 16 characters');
  });
});
