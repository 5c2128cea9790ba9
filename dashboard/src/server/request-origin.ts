import 'server-only';
import { consoleConfig } from './console-config';

/**
 * Set by the console's server (server.mjs) to the socket's peer on every request, overwriting anything
 * a client sent: the one address nobody can forge, from which trust in X-Forwarded-* starts.
 */
export const PEER_HEADER = 'x-syncscope-peer';

export interface RequestOrigin {
  /** The client's address (see TrustedProxies.clientAddress), or null without the console's server. */
  clientAddress: string | null;
  /** The request reached us through a trusted proxy, whose X-Forwarded-Proto/-Host count. */
  viaTrustedProxy: boolean;
  /** The host the browser addressed (X-Forwarded-Host only from a trusted proxy). */
  host: string | null;
  /** The browser spoke HTTPS (to us, or to the trusted proxy in front). */
  https: boolean;
}

export function requestOrigin(headers: Headers): RequestOrigin {
  const peer = headers.get(PEER_HEADER);
  const proxies = consoleConfig().trustedProxies;
  const viaTrustedProxy = peer !== null && proxies.trusts(peer);
  const forwarded = (name: string) =>
    viaTrustedProxy ? (headers.get(name)?.split(',').at(-1)?.trim() ?? null) : null;
  return {
    clientAddress: peer === null ? null : proxies.clientAddress(peer, headers.get('x-forwarded-for')),
    viaTrustedProxy,
    host: forwarded('x-forwarded-host') ?? headers.get('host'),
    https: forwarded('x-forwarded-proto') === 'https'
  };
}
