/**
 * IP addresses and their classes (public, private, CGNAT, loopback, link-local,
 * documentation, reserved, multicast), for IPv4 and IPv6, and CIDR ranges. Pure, no I/O.
 * IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are classified as the IPv4 address they carry.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { PortholeError } from '../errors/index.js';

/** A parsed IP address: family and network-order bytes (4 or 16). */
export interface IpAddress {
  readonly family: 4 | 6;
  readonly bytes: Uint8Array;
}

/** What an address is, for deciding whether the internet can reach it. */
export type AddressClass =
  | 'public'
  | 'private'
  | 'cgnat'
  | 'loopback'
  | 'link-local'
  | 'documentation'
  | 'reserved'
  | 'multicast'
  | 'unspecified';

/** A CIDR range: a network address and a prefix length. */
export interface Cidr {
  readonly address: IpAddress;
  readonly prefix: number;
}

/** Parses a literal IPv4 or IPv6 address (an IPv6 zone such as `%eth0` is dropped); throws E_ADDRESS. */
export function parseIp(text: string): IpAddress {
  const address = text.trim().replace(/^\[(.*)\]$/, '$1');
  if (isIPv4(address)) return { family: 4, bytes: Uint8Array.from(address.split('.').map(Number)) };
  const withoutZone = address.replace(/%.*$/, '');
  if (isIPv6(withoutZone)) return { family: 6, bytes: ipv6Bytes(withoutZone) };
  throw new PortholeError('E_ADDRESS', { detail: JSON.stringify(text), data: { address: text } });
}

/** Whether `text` is a literal IP address porthole can parse. */
export function isIpLiteral(text: string): boolean {
  const address = text.trim().replace(/^\[(.*)\]$/, '$1');
  return isIPv4(address) || isIPv6(address.replace(/%.*$/, ''));
}

function ipv6Bytes(text: string): Uint8Array {
  let head = text;
  const bytes = new Uint8Array(16);
  // A trailing dotted quad (::ffff:192.0.2.1) becomes the last two groups.
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(head);
  let tailBytes: number[] = [];
  if (dotted?.[1]) {
    tailBytes = dotted[1].split('.').map(Number);
    head = head.slice(0, -dotted[1].length);
    if (head.endsWith(':') && !head.endsWith('::')) head = head.slice(0, -1);
  }
  const [left = '', right] = head.split('::');
  const groups = (part: string) => (part === '' ? [] : part.split(':').map((group) => Number.parseInt(group, 16)));
  const leftGroups = groups(left);
  const rightGroups = right === undefined ? [] : groups(right);
  const totalGroups = 8 - tailBytes.length / 2;
  const all =
    right === undefined
      ? leftGroups
      : [
          ...leftGroups,
          ...new Array<number>(totalGroups - leftGroups.length - rightGroups.length).fill(0),
          ...rightGroups,
        ];
  all.forEach((group, index) => {
    bytes[index * 2] = group >> 8;
    bytes[index * 2 + 1] = group & 0xff;
  });
  bytes.set(tailBytes, 16 - tailBytes.length);
  return bytes;
}

/** The IPv4 address inside an IPv4-mapped IPv6 address, or undefined. */
export function unmapIpv4(address: IpAddress): IpAddress | undefined {
  if (address.family !== 6) return undefined;
  const { bytes } = address;
  const mapped = bytes.subarray(0, 10).every((byte) => byte === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  return mapped ? { family: 4, bytes: bytes.slice(12) } : undefined;
}

/** Canonical text of an address (dotted quad, or RFC 5952 IPv6). */
export function formatIp(address: IpAddress): string {
  if (address.family === 4) return Array.from(address.bytes).join('.');
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((address.bytes[i] ?? 0) << 8) | (address.bytes[i + 1] ?? 0));
  // RFC 5952: compress the longest run (length >= 2) of zero groups, the first if tied.
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/** Parses `ADDRESS/PREFIX` (a bare address is a host route); throws E_CIDR. */
export function parseCidr(text: string): Cidr {
  const [addressText = '', prefixText, ...rest] = text.trim().split('/');
  const fail = (why: string) =>
    new PortholeError('E_CIDR', { detail: `${JSON.stringify(text)}: ${why}`, data: { cidr: text } });
  if (rest.length > 0) throw fail('more than one "/"');
  let address: IpAddress;
  try {
    address = parseIp(addressText);
  } catch {
    throw fail(`${JSON.stringify(addressText)} is not an IP address`);
  }
  const maxPrefix = address.family === 4 ? 32 : 128;
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) throw fail('the prefix is not a number');
  const prefix = prefixText === undefined ? maxPrefix : Number(prefixText);
  if (prefix > maxPrefix) throw fail(`the prefix must be 0-${maxPrefix}`);
  return { address, prefix };
}

/** Parses a comma-separated list of CIDR ranges. An empty string is an empty list. */
export function parseCidrList(text: string): Cidr[] {
  return text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '')
    .map(parseCidr);
}

/** Whether `address` lies inside `cidr`. IPv4-mapped IPv6 addresses match IPv4 ranges. */
export function cidrContains(cidr: Cidr, address: IpAddress): boolean {
  const candidate = cidr.address.family === 4 ? (unmapIpv4(address) ?? address) : address;
  if (candidate.family !== cidr.address.family) return false;
  let bits = cidr.prefix;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if (((candidate.bytes[i] ?? 0) & mask) !== ((cidr.address.bytes[i] ?? 0) & mask)) return false;
  }
  return true;
}

interface ClassRule {
  readonly cidr: string;
  readonly class: Exclude<AddressClass, 'public'>;
}

/**
 * Special-purpose ranges, most specific first (the first match wins). Sources: the IANA
 * IPv4 and IPv6 Special-Purpose Address Registries (RFC 6890 and updates).
 */
const CLASS_RULES: readonly ClassRule[] = [
  { cidr: '0.0.0.0/32', class: 'unspecified' },
  { cidr: '0.0.0.0/8', class: 'reserved' }, // "this network", RFC 791
  { cidr: '10.0.0.0/8', class: 'private' }, // RFC 1918
  { cidr: '100.64.0.0/10', class: 'cgnat' }, // shared address space, RFC 6598
  { cidr: '127.0.0.0/8', class: 'loopback' },
  { cidr: '169.254.0.0/16', class: 'link-local' }, // RFC 3927
  { cidr: '172.16.0.0/12', class: 'private' },
  { cidr: '192.0.0.0/24', class: 'reserved' }, // IETF protocol assignments, RFC 6890
  { cidr: '192.0.2.0/24', class: 'documentation' }, // TEST-NET-1, RFC 5737
  { cidr: '192.88.99.0/24', class: 'reserved' }, // deprecated 6to4 relay anycast, RFC 7526
  { cidr: '192.168.0.0/16', class: 'private' },
  { cidr: '198.18.0.0/15', class: 'reserved' }, // benchmarking, RFC 2544
  { cidr: '198.51.100.0/24', class: 'documentation' }, // TEST-NET-2
  { cidr: '203.0.113.0/24', class: 'documentation' }, // TEST-NET-3
  { cidr: '224.0.0.0/4', class: 'multicast' },
  { cidr: '240.0.0.0/4', class: 'reserved' }, // future use, and 255.255.255.255 broadcast
  { cidr: '::/128', class: 'unspecified' },
  { cidr: '::1/128', class: 'loopback' },
  { cidr: '64:ff9b:1::/48', class: 'reserved' }, // local-use NAT64, RFC 8215
  { cidr: '100::/64', class: 'reserved' }, // discard-only, RFC 6666
  { cidr: '2001:db8::/32', class: 'documentation' }, // RFC 3849
  { cidr: '2001::/23', class: 'reserved' }, // IETF protocol assignments
  { cidr: '3fff::/20', class: 'documentation' }, // RFC 9637
  { cidr: '5f00::/16', class: 'reserved' }, // SRv6 SIDs, RFC 9602
  { cidr: 'fc00::/7', class: 'private' }, // unique local addresses, RFC 4193
  { cidr: 'fe80::/10', class: 'link-local' },
  { cidr: 'ff00::/8', class: 'multicast' },
  { cidr: '::/8', class: 'reserved' }, // includes the deprecated IPv4-compatible range
];

const PARSED_RULES = CLASS_RULES.map((rule) => ({ cidr: parseCidr(rule.cidr), class: rule.class }));

/** The class of an address; IPv4-mapped IPv6 addresses get their IPv4 address's class. */
export function classifyAddress(input: IpAddress | string): AddressClass {
  const parsed = typeof input === 'string' ? parseIp(input) : input;
  const address = unmapIpv4(parsed) ?? parsed;
  for (const rule of PARSED_RULES) {
    if (rule.cidr.address.family === address.family && cidrContains(rule.cidr, address)) return rule.class;
  }
  // Outside 2000::/3 nothing is globally routed unicast today.
  if (address.family === 6 && ((address.bytes[0] ?? 0) & 0xe0) !== 0x20) return 'reserved';
  return 'public';
}

/** Whether the internet can route to this address (a public unicast address). */
export function isPublicUnicast(input: IpAddress | string): boolean {
  return classifyAddress(input) === 'public';
}
