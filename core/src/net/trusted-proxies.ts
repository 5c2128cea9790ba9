import { BlockList, isIP } from 'node:net';
import { SyncScopeError } from '../errors/index.ts';

/**
 * The address alone: an IPv4 address seen on an IPv6 socket (`::ffff:10.0.0.1`) is that IPv4 address,
 * and a proxy that writes the client's port (`1.2.3.4:5678`, `[2001:db8::1]:443`) names the same client.
 */
function plainAddress(address: string): string {
  const trimmed = address.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(trimmed);
  const withoutPort = bracketed ? bracketed[1]! : trimmed.replace(/^(\d+\.\d+\.\d+\.\d+):\d+$/, '$1');
  return /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(withoutPort) ? withoutPort.slice(7) : withoutPort;
}

/**
 * The bucket sign-in throttling counts an address in: an IPv4 address itself, an IPv6 address's /64 (one
 * subscriber's network: whoever holds one has billions of addresses, which must not mean billions of
 * buckets).
 */
export function throttleBucket(address: string): string {
  if (isIP(address) !== 6) return address;
  // Expand `::` to the full eight groups, then keep the first four.
  const [head = '', tail = ''] = address.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = address.includes('::') ? (tail ? tail.split(':') : []) : [];
  const groups = [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/**
 * The reverse proxies whose X-Forwarded-* headers count: a comma list of addresses and CIDRs
 * (`127.0.0.1, 10.0.0.0/8, fd00::/8`). A malformed entry fails start-up with the entry named.
 */
export class TrustedProxies {
  private readonly list = new BlockList();
  readonly entries: readonly string[];

  constructor(spec: string) {
    this.entries = spec
      .split(',')
      .map((e) => e.trim())
      .filter(Boolean);
    for (const entry of this.entries) {
      const [address = '', bits] = entry.split('/');
      const family = isIP(address);
      const prefix = bits === undefined ? undefined : Number(bits);
      const maxBits = family === 6 ? 128 : 32;
      if (
        !family ||
        (prefix !== undefined && !(Number.isInteger(prefix) && prefix >= 0 && prefix <= maxBits))
      )
        throw new SyncScopeError(
          'SYNCSCOPE_E_CONFIG_INVALID',
          `SYNCSCOPE_TRUSTED_PROXIES: "${entry}" is not an IP address or CIDR (e.g. 10.0.0.0/8).`
        );
      const type = family === 6 ? 'ipv6' : 'ipv4';
      if (prefix === undefined) this.list.addAddress(address, type);
      else this.list.addSubnet(address, prefix, type);
    }
  }

  trusts(address: string): boolean {
    const plain = plainAddress(address);
    const family = isIP(plain);
    return family !== 0 && this.list.check(plain, family === 6 ? 'ipv6' : 'ipv4');
  }

  /**
   * The client's address: walking from the socket's peer leftwards through X-Forwarded-For, the first
   * address that is not a trusted proxy. Entries left of it were written by the client and may be
   * anything, so they never count; a peer that is not trusted is the client itself (its header is
   * ignored). Returns the peer when every hop is trusted.
   */
  clientAddress(peer: string, forwardedFor: string | null): string {
    const hops = [...(forwardedFor ?? '').split(',').map(plainAddress).filter(Boolean), plainAddress(peer)];
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hops[i]!;
      if (!this.trusts(hop)) return isIP(hop) ? hop : 'malformed';
    }
    return hops[0]!;
  }
}
