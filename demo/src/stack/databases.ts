import pg from 'pg';

/** The embedded stack's databases: the app's own, SyncScope's ops data, and the sync server's buckets. */
export const STACK_DATABASES = {
  app: 'app',
  syncscope: 'syncscope',
  powersyncStorage: 'powersync_storage'
} as const;

export async function ensureDatabases(adminUrl: string, names: readonly string[]): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ datname: string }>('SELECT datname FROM pg_database');
    const existing = new Set(rows.map((r) => r.datname));
    for (const name of names) {
      if (!existing.has(name)) await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
    }
  } finally {
    await client.end();
  }
}
