import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SyncScopeError } from '@syncscope/core';
import { describe, expect, it } from 'vitest';
import { loadServiceConfig, parseServiceConfig } from './load-service-config.ts';

const POWERSYNC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const errorOf = (fn: () => unknown): SyncScopeError => {
  try {
    fn();
  } catch (error) {
    return error as SyncScopeError;
  }
  throw new Error('no error');
};

describe('reading the real service config format', () => {
  it('reads powersync/service.yaml (the real service config) with !env values, listing what it ignores', async () => {
    const env = {
      PS_SOURCE_URI: 'postgres://u:p@db/app',
      PS_STORAGE_URI: 'postgres://u:p@db/storage',
      PS_JWKS_URI: 'http://backend/.well-known/jwks.json',
      PS_PROBE_JWKS_URI: 'http://agent:9464/.well-known/jwks.json',
      PS_API_TOKEN: 'secret-token'
    };
    const loaded = await loadServiceConfig(path.join(POWERSYNC, 'service.yaml'), env);
    expect(loaded.config.replication.connections[0]!.uri).toBe(env.PS_SOURCE_URI);
    expect(loaded.config.client_auth?.jwks_uri).toEqual([env.PS_JWKS_URI, env.PS_PROBE_JWKS_URI]);
    expect(loaded.config.api?.tokens).toEqual(['secret-token']);
    expect(loaded.config.port).toBe(8080);
    expect(loaded.ignoredKeys).toEqual(['system']);
    expect(loaded.syncRulesYaml).toContain('by_workspace');
  });

  it('names an unset !env variable', () => {
    const error = errorOf(() => parseServiceConfig('port: !env NOT_SET_ANYWHERE\n', {}));
    expect(error.code).toBe('SYNCSCOPE_E_CONFIG_INVALID');
    expect(error.message).toContain('NOT_SET_ANYWHERE');
  });

  it('names the bad key', () => {
    const yaml = `replication: {connections: [{type: mysql, uri: x}]}\nstorage: {type: postgresql, uri: y}\n`;
    const error = errorOf(() => parseServiceConfig(yaml, {}));
    expect(error.message).toContain('replication.connections.0.type');
  });
});
