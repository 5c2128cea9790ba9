import { endSession } from '@/features/auth/session.server';

export async function POST() {
  await endSession();
  return Response.json({ ok: true });
}
