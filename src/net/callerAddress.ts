/**
 * Who is asking: the socket's peer address, or — only when that peer is a trusted proxy —
 * the right-most address in X-Forwarded-For that is not itself a trusted proxy. A spoofed
 * header from anyone else is ignored.
 */
import { type Cidr, cidrContains, formatIp, isIpLiteral, parseIp, unmapIpv4 } from '../net/address.js';

/** An address as text, with IPv4-mapped IPv6 written as plain IPv4. */
export function canonicalAddress(address: string): string {
  const parsed = parseIp(address);
  return formatIp(unmapIpv4(parsed) ?? parsed);
}

function trusted(address: string, proxies: readonly Cidr[]): boolean {
  const parsed = parseIp(address);
  return proxies.some((cidr) => cidrContains(cidr, parsed));
}

/** The caller's address for a request. */
export function callerAddress(
  peer: string,
  forwardedFor: string | string[] | undefined,
  trustProxy: readonly Cidr[],
): string {
  const peerAddress = canonicalAddress(peer);
  if (!forwardedFor || trustProxy.length === 0 || !trusted(peerAddress, trustProxy)) return peerAddress;
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor)
    .split(',')
    .map((hop) => hop.trim())
    .filter(isIpLiteral)
    .map(canonicalAddress);
  // Walk from the nearest hop outwards, skipping our own proxies.
  for (let index = hops.length - 1; index >= 0; index--) {
    const hop = hops[index] as string;
    if (!trusted(hop, trustProxy)) return hop;
  }
  return hops[0] ?? peerAddress;
}
