#!/usr/bin/env -S npx tsx
import { parseArgs } from 'node:util';
import { createLogger } from '@syncscope/core';
import { runService } from '@syncscope/core/process/run-service';
import { loadServiceConfig } from './config/load-service-config.ts';
import { startDevSyncServer } from './dev-sync-server.ts';
import { faultSettingsSchema } from './faults/faults.ts';

const USAGE = `Usage: syncscope-dev-sync-server --config <service.yaml> [--host 127.0.0.1] [--faults '<json>']

Runs the development sync server (PowerSync protocol) with the real service's config format.
--faults takes the same JSON as PUT /api/dev/v1/faults, e.g. '{"stallReplication":true}'.`;

async function main(): Promise<{ close(): Promise<void> }> {
  const { values } = parseArgs({
    options: {
      config: { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      faults: { type: 'string' },
      help: { type: 'boolean' }
    }
  });
  if (values.help || !values.config) {
    console.log(USAGE);
    process.exit(values.help ? 0 : 2);
  }
  const logger = createLogger('dev-sync-server');
  const faults = values.faults ? faultSettingsSchema.parse(JSON.parse(values.faults)) : undefined;
  const server = await startDevSyncServer({
    loaded: await loadServiceConfig(values.config),
    host: values.host,
    logger,
    faults
  });
  logger.info({ url: server.url, metrics: server.metricsUrl }, 'dev sync server ready');
  return server;
}

runService(main);
