import { parseArgs } from 'node:util';
import pg from 'pg';
import { applyDemoSchema } from '../schema/index.ts';
import { seedDemoData } from './index.ts';

const USAGE = 'Usage: tsx demo/src/seed/main.ts --database-url <postgres://...> [--records 200]';

/** Applies the demo schema and loads the seed (skipped when the database already has users). */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { 'database-url': { type: 'string' }, records: { type: 'string', default: '200' } }
  });
  const url = values['database-url'] ?? process.env.DEMO_DATABASE_URL;
  if (!url) {
    console.error(USAGE);
    process.exit(2);
  }
  const pool = new pg.Pool({ connectionString: url });
  try {
    await applyDemoSchema(pool);
    const counts = await seedDemoData(pool, { records: Number(values.records) });
    console.log(counts ? `seeded ${JSON.stringify(counts)}` : 'database already seeded; left as it is');
  } finally {
    await pool.end();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
