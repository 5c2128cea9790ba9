import { describe, expect, it } from 'vitest';
import { TrustedProxies, throttleBucket } from './trusted-proxies.ts';

describe('trusted proxies and the client address', () => {
  const proxies = new TrustedProxies('127.0.0.1, 10.0.0.0/8, fd00::/8');

  it('counts the right-most address that is not a trusted proxy', () => {
    expect(proxies.clientAddress('127.0.0.1', '198.51.100.1, 203.0.113.9, 10.1.2.3')).toBe('203.0.113.9');
    expect(proxies.clientAddress('::ffff:10.0.0.2', '203.0.113.9')).toBe('203.0.113.9');
    expect(proxies.clientAddress('fd00::1', '2001:db8::7')).toBe('2001:db8::7');
  });

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy', () => {
    expect(proxies.clientAddress('192.0.2.50', '203.0.113.9')).toBe('192.0.2.50');
  });

  it('never lets garbage or a spoofed left part name the client', () => {
    expect(proxies.clientAddress('127.0.0.1', '1.1.1.1, 203.0.113.9')).toBe('203.0.113.9');
    expect(proxies.clientAddress('127.0.0.1', '1.1.1.1, not-an-ip')).toBe('malformed');
    expect(proxies.clientAddress('127.0.0.1', null)).toBe('127.0.0.1');
  });

  it('refuses a malformed entry, naming it', () => {
    expect(() => new TrustedProxies('10.0.0.0/33')).toThrow(/"10.0.0.0\/33" is not an IP address or CIDR/);
    expect(() => new TrustedProxies('proxy.local')).toThrow(/SYNCSCOPE_TRUSTED_PROXIES/);
    expect(new TrustedProxies('').trusts('127.0.0.1')).toBe(false);
  });

  it('drops a port a proxy wrote, so one client is one address (not one shared "malformed")', () => {
    expect(proxies.clientAddress('127.0.0.1', '203.0.113.9:51234')).toBe('203.0.113.9');
    expect(proxies.clientAddress('127.0.0.1', '[2001:db8::7]:443')).toBe('2001:db8::7');
  });

  it('throttles an IPv6 client by its /64, an IPv4 client by its address', () => {
    expect(throttleBucket('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(throttleBucket('2001:db8:1:2:ffff:ffff:ffff:ffff')).toBe('2001:db8:1:2::/64');
    expect(throttleBucket('2001:db8::7')).toBe('2001:db8:0:0::/64');
    expect(throttleBucket('::1')).toBe('0:0:0:0::/64');
    expect(throttleBucket('203.0.113.9')).toBe('203.0.113.9');
  });
});
