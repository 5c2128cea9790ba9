import 'server-only';
import { bearerTokenMatches } from '@syncscope/core/net/bearer-token';
import type { NextResponse } from 'next/server';
import { errorResponse } from '@/features/auth/guard.server';
import { consoleConfig } from '@/server/console-config';

/** Null when the request may read /metrics: no token is configured, or it carries the token. */
export function metricsRefusal(request: Request): NextResponse | null {
  const token = consoleConfig().SYNCSCOPE_METRICS_TOKEN;
  if (!token || bearerTokenMatches(request.headers.get('authorization'), token)) return null;
  const refusal = errorResponse(
    401,
    'SYNCSCOPE_E_METRICS_AUTH',
    '/metrics needs the bearer token set in SYNCSCOPE_METRICS_TOKEN; give it to the scraper (Prometheus: authorization.credentials).'
  );
  refusal.headers.set('www-authenticate', 'Bearer');
  return refusal;
}
