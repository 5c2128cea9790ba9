import { consoleMetrics } from '@/server/console-metrics';
import { metricsRefusal } from '@/server/metrics-auth';

export const dynamic = 'force-dynamic';

/** Prometheus metrics of the console (upload errors ingested, ingest outcomes, queue depth). */
export async function GET(request: Request) {
  const refused = metricsRefusal(request);
  if (refused) return refused;
  const { registry } = consoleMetrics();
  return new Response(await registry.metrics(), { headers: { 'content-type': registry.contentType } });
}
