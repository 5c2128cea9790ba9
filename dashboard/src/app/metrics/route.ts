import { createHash, timingSafeEqual } from 'node:crypto';
import { consoleConfig } from '@/server/console-config';
import { consoleMetrics } from '@/server/console-metrics';

export const dynamic = 'force-dynamic';

const digest = (value: string) => createHash('sha256').update(value).digest();

/** Whether the request carries the metrics token, when one is configured (compared in constant time). */
function authorized(request: Request, token: string | undefined): boolean {
  if (!token) return true;
  const given = /^Bearer (.+)$/.exec(request.headers.get('authorization') ?? '')?.[1];
  return given !== undefined && timingSafeEqual(digest(given), digest(token));
}

/** Prometheus metrics of the console (upload errors ingested, ingest outcomes, queue depth). */
export async function GET(request: Request) {
  if (!authorized(request, consoleConfig().SYNCSCOPE_METRICS_TOKEN)) {
    return new Response(
      'SYNCSCOPE_E_METRICS_AUTH: /metrics needs the bearer token set in SYNCSCOPE_METRICS_TOKEN; give it to the scraper (Prometheus: authorization.credentials).\n',
      { status: 401, headers: { 'www-authenticate': 'Bearer', 'content-type': 'text/plain' } }
    );
  }
  const { registry } = consoleMetrics();
  return new Response(await registry.metrics(), { headers: { 'content-type': registry.contentType } });
}
