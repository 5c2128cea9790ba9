import { randomBytes, randomUUID } from 'node:crypto';
import { findFreePort } from '@syncscope/core';
import { createTestDatabase } from '@syncscope/core/testing/test-database';
import { SignJWT } from 'jose';
import pg from 'pg';
import type { FaultSettings } from '../faults/faults.ts';
import { parseServiceConfig } from '../config/load-service-config.ts';
import { type DevSyncServer, startDevSyncServer } from '../dev-sync-server.ts';

export const TEST_AUDIENCE = 'powersync-dev';
export const TEST_KID = 'test-hs256';
export const TEST_API_TOKEN = 'test-api-token-0123456789';

export interface DevServerHarness {
  server: DevSyncServer;
  sourceUrl: string;
  storageUrl: string;
  source: pg.Pool;
  secret: Uint8Array;
  token(sub: string, options?: { ttlSeconds?: number; aud?: string; kid?: string; claims?: Record<string, unknown>; secret?: Uint8Array }): Promise<string>;
  /** Resolves once replication has passed everything committed in the source so far. */
  caughtUp(timeoutMs?: number): Promise<void>;
  restart(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A dev sync server over throw-away source and storage databases in the test run's Postgres,
 * with an HS256 key for minting client tokens, as the reference captures were made.
 */
export async function startDevServerHarness(options: {
  name: string;
  sourceSql: string;
  rulesYaml: string;
  faults?: Partial<FaultSettings>;
  keepaliveMs?: number;
}): Promise<DevServerHarness> {
  const sourceUrl = await createTestDatabase(`${options.name}_src`);
  const storageUrl = await createTestDatabase(`${options.name}_storage`);
  const source = new pg.Pool({ connectionString: sourceUrl, max: 4 });
  await source.query(options.sourceSql);
  const secret = randomBytes(32);
  const port = await findFreePort();
  const configYaml = `
replication:
  connections:
    - type: postgresql
      uri: ${sourceUrl}
      sslmode: disable
storage:
  type: postgresql
  uri: ${storageUrl}
port: ${port}
client_auth:
  audience: ['${TEST_AUDIENCE}']
  jwks:
    keys:
      - kty: oct
        alg: HS256
        kid: ${TEST_KID}
        k: ${Buffer.from(secret).toString('base64url')}
api:
  tokens: ['${TEST_API_TOKEN}']
`;
  const loaded = { ...parseServiceConfig(configYaml), syncRulesYaml: options.rulesYaml, syncRulesPath: undefined };
  const silent = (await import('pino')).default({ level: process.env.SYNCSCOPE_TEST_LOG ?? 'silent' });
  const start = () => startDevSyncServer({ loaded, faults: options.faults, logger: silent, keepaliveMs: options.keepaliveMs });
  const harness: DevServerHarness = {
    server: await start(),
    sourceUrl,
    storageUrl,
    source,
    secret,
    async token(sub, o = {}) {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ ...(o.claims ?? {}) })
        .setProtectedHeader({ alg: 'HS256', kid: o.kid ?? TEST_KID })
        .setSubject(sub)
        .setAudience(o.aud ?? TEST_AUDIENCE)
        .setIssuedAt(now)
        .setExpirationTime(now + (o.ttlSeconds ?? 300))
        .setJti(randomUUID())
        .sign(o.secret ?? secret);
    },
    async caughtUp(timeoutMs = 15_000) {
      const { rows } = await source.query<{ lsn: string }>(
        "SELECT pg_logical_emit_message(false, 'powersync', 'test-barrier')::text AS lsn"
      );
      const target = rows[0]!.lsn;
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const { rows: cmp } = await source.query<{ passed: boolean }>('SELECT $1::pg_lsn >= $2::pg_lsn AS passed', [
          harness.server.storage.checkpoint.lsn,
          target
        ]);
        if (cmp[0]!.passed) return;
        if (Date.now() > deadline) throw new Error(`replication did not reach ${target} within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async restart() {
      await harness.server.close();
      harness.server = await start();
    },
    async close() {
      await harness.server.close();
      await source.end();
    }
  };
  return harness;
}

/** Reads an NDJSON sync stream until `stop` returns true for a line (or the timeout passes). */
export async function readSyncStream(
  url: string,
  token: string,
  body: Record<string, unknown>,
  stop: (line: Record<string, unknown>, lines: Record<string, unknown>[]) => boolean,
  timeoutMs = 15_000
): Promise<{ status: number; lines: Record<string, unknown>[]; contentType: string | null }> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const lines: Record<string, unknown>[] = [];
  try {
    const response = await fetch(`${url}/sync/stream`, {
      method: 'POST',
      headers: { Authorization: `Token ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
      signal: controller.signal
    });
    if (!response.ok || !response.body) {
      return { status: response.status, lines: [await response.json()], contentType: response.headers.get('content-type') };
    }
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        let newline = buffer.indexOf('\n');
        while (newline >= 0) {
          const line = JSON.parse(buffer.slice(0, newline)) as Record<string, unknown>;
          buffer = buffer.slice(newline + 1);
          lines.push(line);
          if (stop(line, lines)) {
            controller.abort();
            return { status: response.status, lines, contentType: response.headers.get('content-type') };
          }
          newline = buffer.indexOf('\n');
        }
      }
    } catch (error) {
      if (!controller.signal.aborted) throw error;
    }
    return { status: response.status, lines, contentType: response.headers.get('content-type') };
  } finally {
    clearTimeout(timer);
  }
}
