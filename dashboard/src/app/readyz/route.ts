import { checkOpsDatabaseReady } from '@syncscope/core/ops-db/ops-readiness';
import { NextResponse } from 'next/server';
import { errorResponse } from '@/features/auth/guard.server';
import { consoleConfig } from '@/server/console-config';

export const dynamic = 'force-dynamic';

/**
 * Readiness: every page and API reads the ops database, so the console takes traffic only while it
 * answers and is migrated (Kubernetes keeps the pod out of its Service otherwise). The answer carries
 * the coded reason, never the database's URL.
 */
export async function GET() {
  const readiness = await checkOpsDatabaseReady(consoleConfig().opsDatabaseUrl);
  if (!readiness.ready) return errorResponse(503, readiness.code, readiness.message);
  return NextResponse.json({ ready: true }, { headers: { 'cache-control': 'no-store' } });
}
