import { endSession } from '@/features/auth/session.server';

/** Ends this browser's session (cross-site posts never get here: the proxy refuses them). */
export async function POST() {
  await endSession();
  return Response.json({ ok: true });
}
