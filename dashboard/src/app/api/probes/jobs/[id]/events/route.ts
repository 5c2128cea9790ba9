import { handleJobEvents } from '@/features/probes/job-events.server';

export const dynamic = 'force-dynamic';

export async function GET(request: Request, { params }: { params: Promise<{ id: string }> }) {
  return handleJobEvents(request, (await params).id);
}
