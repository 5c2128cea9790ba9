import { createLogger, loadOrCreateSigningKey, SyncScopeError } from '@syncscope/core';
import { runService } from '@syncscope/core/process/run-service';
import { z } from 'zod';
import { startDemoBackend } from './server.ts';

/** The demo backend on its own (docker-compose); `npm start` runs it in-process instead. */
const envSchema = z.object({
  DEMO_DATABASE_URL: z.string().min(1),
  DEMO_KEYS_DIR: z.string().default('.syncscope/keys'),
  DEMO_KEY_ID: z.string().default('demo-app-1'),
  DEMO_HOST: z.string().default('127.0.0.1'),
  DEMO_PORT: z.coerce.number().int().default(8000),
  DEMO_POWERSYNC_URL: z.string().default('http://127.0.0.1:7001'),
  DEMO_AUDIENCE: z.string().default('powersync-dev'),
  DEMO_PROBE_AUDIENCE: z.string().default('syncscope-probe'),
  DEMO_MODE: z.enum(['true', 'false']).default('false')
});

async function main(): Promise<{ close(): Promise<void> }> {
  const parsed = envSchema.safeParse(process.env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new SyncScopeError('SYNCSCOPE_E_CONFIG_INVALID', `${issue.path.join('.')}: ${issue.message}`);
  }
  const env = parsed.data;
  const logger = createLogger('demo-backend');
  const backend = await startDemoBackend({
    host: env.DEMO_HOST,
    port: env.DEMO_PORT,
    appDatabaseUrl: env.DEMO_DATABASE_URL,
    signingKey: await loadOrCreateSigningKey(env.DEMO_KEYS_DIR, env.DEMO_KEY_ID),
    audience: env.DEMO_AUDIENCE,
    probeAudience: env.DEMO_PROBE_AUDIENCE,
    powersyncUrl: env.DEMO_POWERSYNC_URL,
    demoMode: env.DEMO_MODE === 'true',
    logger
  });
  logger.info({ url: backend.url, demoMode: env.DEMO_MODE }, 'demo backend ready');
  return backend;
}

runService(main);
