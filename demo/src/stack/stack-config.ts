import path from 'node:path';
import { SyncScopeError } from '@syncscope/core';
import { z } from 'zod';

const port = z.coerce.number().int().min(1).max(65535);

/**
 * Every knob of the embedded demo stack, read once from the environment at start-up.
 * The README lists these; defaults keep everything on loopback and off common ports.
 */
export const stackEnvSchema = z.object({
  SYNCSCOPE_HOME: z
    .string()
    .default('.syncscope')
    .describe('Folder for Postgres data, keys and generated config'),
  SYNCSCOPE_BIND_HOST: z.string().default('127.0.0.1').describe('Address every part listens on'),
  SYNCSCOPE_PG_PORT: port.default(5433),
  SYNCSCOPE_PG_USER: z.string().default('postgres'),
  /** Unset: generated once into `<home>/secrets/pg-superuser-password` for a new data folder. */
  SYNCSCOPE_PG_PASSWORD: z.string().min(1).optional(),
  SYNCSCOPE_SYNC_PORT: port.default(7001).describe('Development sync server (PowerSync protocol)'),
  SYNCSCOPE_SYNC_METRICS_PORT: port.default(9091).describe("Sync server's Prometheus metrics"),
  SYNCSCOPE_DEMO_PORT: port.default(8000).describe('Demo app backend'),
  SYNCSCOPE_DASHBOARD_PORT: port.default(3000).describe('The console (Next.js)'),
  SYNCSCOPE_AGENT_METRICS_PORT: port.default(9464).describe("The probe agent's /metrics and /healthz"),
  SYNCSCOPE_CONSOLE: z
    .enum(['on', 'off'])
    .default('on')
    .describe('Start the console (builds it first when its sources changed)'),
  SYNCSCOPE_SEED_RECORDS: z.coerce.number().int().min(0).default(200).describe('Records in the demo seed'),
  SYNCSCOPE_LOG_DIR: z
    .string()
    .optional()
    .describe(
      "Folder where the agent's and the console's output goes (<part>.log); unset: kept in memory for start-up errors"
    ),
  SYNCSCOPE_API_TOKEN: z
    .string()
    .min(16)
    .optional()
    .describe('Admin API token of the sync server (random if unset)')
});

export type StackEnv = z.infer<typeof stackEnvSchema>;

export interface StackConfig extends StackEnv {
  home: string;
  pgDataDir: string;
  keysDir: string;
}

export function readStackConfig(env: NodeJS.ProcessEnv = process.env): StackConfig {
  const parsed = stackEnvSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new SyncScopeError('SYNCSCOPE_E_CONFIG_INVALID', `Invalid environment: ${problems}`);
  }
  const home = path.resolve(parsed.data.SYNCSCOPE_HOME);
  return { ...parsed.data, home, pgDataDir: path.join(home, 'pg'), keysDir: path.join(home, 'keys') };
}
