import 'server-only';
import pg from 'pg';
import { consoleConfig } from './console-config';

const globalKey = Symbol.for('syncscope.console.opsPool');
type WithPool = typeof globalThis & { [globalKey]?: pg.Pool };

/** One pool per server process (dev reloads included) to the ops database. */
export function opsPool(): pg.Pool {
  const holder = globalThis as WithPool;
  if (!holder[globalKey]) {
    const pool = new pg.Pool({
      connectionString: consoleConfig().opsDatabaseUrl,
      max: 8,
      application_name: 'syncscope-console',
      statement_timeout: 10_000
    });
    pool.on('error', () => {});
    holder[globalKey] = pool;
  }
  return holder[globalKey];
}
