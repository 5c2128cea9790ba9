import 'server-only';
import { requestOrigin } from './request-origin';

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Why a state-changing request must be refused as cross-site, or null. Browsers send `Origin` with
 * every POST, PUT, PATCH and DELETE (forms, fetch, server actions); it must name this console's host.
 * Without `Origin`, `Sec-Fetch-Site` (cross-site or same-site: another origin) refuses too. A request
 * with neither is not a browser's (curl, the upload reporter): it still needs its session cookie,
 * which is SameSite=Strict, or its key.
 */
export function crossSiteRefusal(request: Request): string | null {
  if (!STATE_CHANGING.has(request.method)) return null;
  const origin = request.headers.get('origin');
  if (origin === null) {
    const site = request.headers.get('sec-fetch-site');
    return site === 'cross-site' || site === 'same-site' ? `Sec-Fetch-Site: ${site}` : null;
  }
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    return `Origin ${origin}`;
  }
  return host === requestOrigin(request.headers).host ? null : `Origin ${origin}`;
}
