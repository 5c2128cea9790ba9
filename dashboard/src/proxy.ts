import { type NextRequest, NextResponse } from 'next/server';
import { crossSiteRefusal } from '@/server/cross-site';

function contentSecurityPolicy(nonce: string): string {
  const dev = process.env.NODE_ENV === 'development';
  return [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'${dev ? " 'unsafe-eval'" : ''}`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'"
  ].join('; ');
}

function withSecurityHeaders(response: NextResponse, csp: string): NextResponse {
  response.headers.set('content-security-policy', csp);
  response.headers.set('x-frame-options', 'DENY');
  response.headers.set('x-content-type-options', 'nosniff');
  // same-origin, not no-referrer: under no-referrer Chromium sends `Origin: null` with the console's own
  // form posts, which the cross-site check must refuse; other sites still get no referrer.
  response.headers.set('referrer-policy', 'same-origin');
  response.headers.set('permissions-policy', 'camera=(), microphone=(), geolocation=()');
  return response;
}

/**
 * Every request but static assets passes here. Cross-site state-changing requests (every route and
 * server action) are refused before any handler runs. Every response gets the security headers: a
 * nonce-based CSP (Next puts the nonce on its own scripts; no 'unsafe-inline' scripts), no framing, no
 * MIME sniffing, no referrer to other sites. Row values are rendered as React text, so even a value holding
 * markup stays inert; the CSP is the second line of defence.
 */
export function proxy(request: NextRequest) {
  const nonce = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString('base64');
  const csp = contentSecurityPolicy(nonce);
  const refusal = crossSiteRefusal(request);
  if (refusal)
    return withSecurityHeaders(
      NextResponse.json(
        {
          error: {
            code: 'SYNCSCOPE_E_AUTH_FORBIDDEN',
            message: `Cross-site request refused (${refusal}): use the console from its own address.`
          }
        },
        { status: 403, headers: { 'cache-control': 'no-store' } }
      ),
      csp
    );
  const requestHeaders = new Headers(request.headers);
  requestHeaders.set('x-nonce', nonce);
  requestHeaders.set('content-security-policy', csp);
  requestHeaders.set('x-syncscope-path', request.nextUrl.pathname + request.nextUrl.search);
  return withSecurityHeaders(NextResponse.next({ request: { headers: requestHeaders } }), csp);
}

export const config = {
  matcher: [{ source: '/((?!_next/static|_next/image|favicon.ico).*)' }]
};
