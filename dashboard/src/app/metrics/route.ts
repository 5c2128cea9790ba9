import { countStuckQueues } from '@syncscope/core/upload-errors/stuck-queues';
import { consoleMetrics } from '@/server/console-metrics';
import { metricsRefusal } from '@/server/metrics-auth';
import { opsPool } from '@/server/ops-pool';

export const dynamic = 'force-dynamic';

/** Prometheus metrics of the console (upload errors ingested, ingest outcomes, queue depth, stuck queues). */
export async function GET(request: Request) {
  const refused = metricsRefusal(request);
  if (refused) return refused;
  const metrics = consoleMetrics();
  // Read at each scrape; with the ops database unreachable the last counts stay (ingest alerts fire).
  await Promise.resolve()
    .then(() => countStuckQueues(opsPool()))
    .then(metrics.setStuckQueues, () => undefined);
  return new Response(await metrics.registry.metrics(), {
    headers: { 'content-type': metrics.registry.contentType }
  });
}
