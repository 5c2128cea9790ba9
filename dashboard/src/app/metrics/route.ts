import { consoleMetrics } from '@/server/console-metrics';

export const dynamic = 'force-dynamic';

/** Prometheus metrics of the console (upload errors ingested, ingest outcomes, queue depth). */
export async function GET() {
  const { registry } = consoleMetrics();
  return new Response(await registry.metrics(), { headers: { 'content-type': registry.contentType } });
}
