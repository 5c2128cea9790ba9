import { NextResponse } from 'next/server';

export const dynamic = 'force-dynamic';

/**
 * Liveness: the server process answers. It reads nothing (no database, no session), so an ops database
 * outage makes the console unready (`/readyz`), never restarted.
 */
export function GET() {
  return NextResponse.json({ ok: true }, { headers: { 'cache-control': 'no-store' } });
}
