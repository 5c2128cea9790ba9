import pg from 'pg';
import type { ErrorCode } from '../errors/index.ts';

/** What a readiness endpoint answers: 200 when ready, 503 with the coded reason when not. */
export type OpsReadiness = { ready: true } | { ready: false; code: ErrorCode; message: string };

/**
 * Whether the ops database answers, within `timeoutMs`, on a connection of its own (a pool busy with
 * probes must not make a healthy process look unready), and holds the migrated schema (the setup job has
 * run). The console and agents serve their readiness endpoints from this: Kubernetes keeps a pod out of
 * its Service while it is false. The message never carries the URL (it holds a password).
 */
export async function checkOpsDatabaseReady(databaseUrl: string, timeoutMs = 2000): Promise<OpsReadiness> {
  const client = new pg.Client({
    connectionString: databaseUrl,
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs,
    application_name: 'syncscope-readiness'
  });
  client.on('error', () => {});
  try {
    await client.connect();
    const { rows } = await client.query<{ migrated: boolean }>(
      "SELECT to_regclass('syncscope.audit_log') IS NOT NULL AS migrated"
    );
    if (rows[0]?.migrated) return { ready: true };
    return {
      ready: false,
      code: 'SYNCSCOPE_E_OPS_DB_NOT_MIGRATED',
      message:
        'The ops database has no syncscope schema yet: run the setup (the Kubernetes setup job, compose setup or npm start) first.'
    };
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    return {
      ready: false,
      code: 'SYNCSCOPE_E_OPS_DB_UNREACHABLE',
      message: `The ops database (SYNCSCOPE_OPS_DATABASE_URL) did not answer within ${timeoutMs} ms: ${reason}.`
    };
  } finally {
    await client.end().catch(() => {});
  }
}
