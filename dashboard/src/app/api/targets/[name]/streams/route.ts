import { handleTargetStreams } from '@/features/probes/probe-subscriptions.server';

export async function GET(request: Request, { params }: { params: Promise<{ name: string }> }) {
  return handleTargetStreams(request, (await params).name);
}
