/**
 * Which IPv6 literals porthole accepts as a target or a pinhole's address, and why not: a zone id
 * (`%eth0`) or a link-local address names the local link only, and an IPv4-mapped address
 * (::ffff:a.b.c.d) is an IPv4 address in disguise that IPv6 sockets would silently send as IPv4.
 */
import { PortholeError } from '../errors/index.js';
import { classifyAddress, isIpLiteral, parseIp, unmapIpv4 } from './address.js';

/** Why `text` cannot be an internet-facing IPv6 (or IPv4) target, or undefined when it can. */
export function unusableTargetReason(text: string): string | undefined {
  const literal = text.trim().replace(/^\[(.*)\]$/, '$1');
  if (!isIpLiteral(literal)) return undefined; // A name: resolved and judged by the caller.
  if (literal.includes('%'))
    return `"${text}" has a zone id (${literal.slice(literal.indexOf('%'))}): it names an address on this host's own link, which the internet cannot reach`;
  const address = parseIp(literal);
  const mapped = unmapIpv4(address);
  if (mapped)
    return `"${text}" is an IPv4-mapped IPv6 address: write the IPv4 address ${Array.from(mapped.bytes).join('.')} instead`;
  if (classifyAddress(address) === 'link-local')
    return `"${text}" is link-local: it is reachable on the local link only, never from the internet`;
  return undefined;
}

/** Throws E_ADDRESS_UNSUPPORTED with the reason when `text` cannot be a target. */
export function assertUsableTarget(text: string): void {
  const reason = unusableTargetReason(text);
  if (reason) throw new PortholeError('E_ADDRESS_UNSUPPORTED', { detail: reason, data: { address: text } });
}
