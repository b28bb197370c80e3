/**
 * The PROXY protocol (HAProxy's spec, versions 1 and 2), pure: the header a relay client
 * writes first on each connection to the local server, so the server logs and filters by the
 * visitor's real address instead of 127.0.0.1.
 *
 * v1: "PROXY TCP4 <src> <dst> <sport> <dport>\r\n" (text, at most 107 bytes)
 * v2: 12-byte signature, ver/cmd, family/transport, length, then the addresses (binary)
 */
import { isIP } from 'node:net';
import { PortholeError } from '../errors/index.js';

/** Which PROXY protocol header to send: none (the default), text v1 or binary v2. */
export type ProxyProtocolVersion = 'v1' | 'v2';

/** The two ends of a proxied connection. */
export interface ProxiedConnection {
  readonly sourceAddress: string;
  readonly sourcePort: number;
  readonly destinationAddress: string;
  readonly destinationPort: number;
  /** Defaults to tcp; v2 can also say udp. */
  readonly transport?: 'tcp' | 'udp';
}

/** A decoded header: a proxied connection, or LOCAL/UNKNOWN (a health check, no addresses). */
export type ProxyHeader =
  | ({ readonly version: ProxyProtocolVersion; readonly command: 'proxy' } & ProxiedConnection)
  | { readonly version: ProxyProtocolVersion; readonly command: 'local' };

/** The spec's v2 signature: "\r\n\r\n\0\r\nQUIT\n". */
export const PROXY_V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
/** The spec caps a v1 line at 107 bytes including CRLF. */
export const PROXY_V1_MAX_BYTES = 107;

/** Raised by the decoders for bytes that are not a PROXY header: E_RELAY_MALFORMED. */
export class MalformedProxyHeader extends PortholeError {
  constructor(detail: string) {
    super('E_RELAY_MALFORMED', { detail: `PROXY header: ${detail}` });
  }

  /** Only this class's own errors (PortholeError's check would accept every PortholeError). */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return Function.prototype[Symbol.hasInstance].call(MalformedProxyHeader, value);
  }
}

/** IPv4-mapped IPv6 (::ffff:1.2.3.4) is written as the IPv4 address it carries. */
function plainAddress(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped?.[1] ?? address;
}

/** 4 when both addresses are IPv4, 6 when both are IPv6 (an IPv4 one is mapped), 0 when unknown. */
function familyOf(connection: ProxiedConnection): { family: 0 | 4 | 6; source: string; destination: string } {
  const source = plainAddress(connection.sourceAddress);
  const destination = plainAddress(connection.destinationAddress);
  const s = isIP(source);
  const d = isIP(destination);
  if (s === 0 || d === 0) return { family: 0, source, destination };
  if (s === 4 && d === 4) return { family: 4, source, destination };
  const six = (address: string) => (isIP(address) === 4 ? `::ffff:${address}` : address);
  return { family: 6, source: six(source), destination: six(destination) };
}

function validPort(port: number): boolean {
  return Number.isInteger(port) && port >= 0 && port <= 65535;
}

/** The v1 text header; "PROXY UNKNOWN" when an address is not an IP literal. */
export function encodeProxyV1(connection: ProxiedConnection): Buffer {
  const { family, source, destination } = familyOf(connection);
  if (family === 0 || !validPort(connection.sourcePort) || !validPort(connection.destinationPort)) {
    return Buffer.from('PROXY UNKNOWN\r\n', 'latin1');
  }
  return Buffer.from(
    `PROXY TCP${family} ${source} ${destination} ${connection.sourcePort} ${connection.destinationPort}\r\n`,
    'latin1',
  );
}

/** The 16 bytes of an IPv6 address in text form (with "::" or an embedded IPv4 tail). */
export function ipv6Bytes(address: string): Buffer {
  // Expand "::" and embedded IPv4 into eight 16-bit groups.
  let text = address;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)?.[1];
  if (v4) {
    const [a = 0, b = 0, c = 0, d = 0] = v4.split('.').map(Number);
    text = `${text.slice(0, -v4.length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const groups =
    tail === undefined
      ? headGroups
      : [...headGroups, ...Array(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups];
  const bytes = Buffer.alloc(16);
  for (const [i, group] of groups.entries()) bytes.writeUInt16BE(Number.parseInt(group || '0', 16), i * 2);
  return bytes;
}

function ipv6Text(bytes: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  return groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
}

/** The v2 binary header (command PROXY, TCP or UDP over IPv4/IPv6; UNSPEC for non-IP addresses). */
export function encodeProxyV2(connection: ProxiedConnection): Buffer {
  const { family, source, destination } = familyOf(connection);
  const transport = connection.transport === 'udp' ? 0x2 : 0x1;
  if (family === 0) return Buffer.concat([PROXY_V2_SIGNATURE, Buffer.from([0x21, 0x00, 0x00, 0x00])]);
  const addresses =
    family === 4
      ? Buffer.concat([
          Buffer.from(source.split('.').map(Number)),
          Buffer.from(destination.split('.').map(Number)),
          Buffer.alloc(4),
        ])
      : Buffer.concat([ipv6Bytes(source), ipv6Bytes(destination), Buffer.alloc(4)]);
  addresses.writeUInt16BE(connection.sourcePort, addresses.length - 4);
  addresses.writeUInt16BE(connection.destinationPort, addresses.length - 2);
  const head = Buffer.from([0x21, ((family === 4 ? 0x1 : 0x2) << 4) | transport, 0, 0]);
  head.writeUInt16BE(addresses.length, 2);
  return Buffer.concat([PROXY_V2_SIGNATURE, head, addresses]);
}

/** The header for a version. */
export function encodeProxyHeader(version: ProxyProtocolVersion, connection: ProxiedConnection): Buffer {
  return version === 'v1' ? encodeProxyV1(connection) : encodeProxyV2(connection);
}

/**
 * Reads a header at the start of `bytes`: the header and how many bytes it took, or
 * undefined when more bytes are needed. Throws MalformedProxyHeader for anything else.
 */
export function decodeProxyHeader(bytes: Uint8Array): { header: ProxyHeader; length: number } | undefined {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  if (buffer.length === 0) return undefined;
  if (buffer[0] === 0x0d) return decodeV2(buffer);
  return decodeV1(buffer);
}

function decodeV1(buffer: Buffer): { header: ProxyHeader; length: number } | undefined {
  const prefix = 'PROXY ';
  const start = buffer.subarray(0, prefix.length).toString('latin1');
  if (!prefix.startsWith(start)) throw new MalformedProxyHeader('not a PROXY header');
  const end = buffer.indexOf('\r\n', 0, 'latin1');
  if (end < 0) {
    if (buffer.length >= PROXY_V1_MAX_BYTES) throw new MalformedProxyHeader('v1 line longer than 107 bytes');
    return undefined;
  }
  if (end + 2 > PROXY_V1_MAX_BYTES) throw new MalformedProxyHeader('v1 line longer than 107 bytes');
  const fields = buffer.subarray(0, end).toString('latin1').split(' ');
  if (fields[1] === 'UNKNOWN') return { header: { version: 'v1', command: 'local' }, length: end + 2 };
  const [, protocol, src = '', dst = '', sport = '', dport = ''] = fields;
  const family = protocol === 'TCP4' ? 4 : protocol === 'TCP6' ? 6 : 0;
  if (fields.length !== 6 || family === 0 || isIP(src) !== family || isIP(dst) !== family) {
    throw new MalformedProxyHeader(`bad v1 line "${fields.join(' ')}"`);
  }
  const sourcePort = Number(sport);
  const destinationPort = Number(dport);
  if (!/^\d{1,5}$/.test(sport) || !/^\d{1,5}$/.test(dport) || !validPort(sourcePort) || !validPort(destinationPort)) {
    throw new MalformedProxyHeader('bad v1 port');
  }
  return {
    header: {
      version: 'v1',
      command: 'proxy',
      sourceAddress: src,
      destinationAddress: dst,
      sourcePort,
      destinationPort,
      transport: 'tcp',
    },
    length: end + 2,
  };
}

function decodeV2(buffer: Buffer): { header: ProxyHeader; length: number } | undefined {
  const known = Math.min(buffer.length, PROXY_V2_SIGNATURE.length);
  if (!buffer.subarray(0, known).equals(PROXY_V2_SIGNATURE.subarray(0, known))) {
    throw new MalformedProxyHeader('bad v2 signature');
  }
  if (buffer.length < 16) return undefined;
  const versionCommand = buffer[12] ?? 0;
  if (versionCommand >> 4 !== 2) throw new MalformedProxyHeader('v2 version is not 2');
  const length = 16 + buffer.readUInt16BE(14);
  if (buffer.length < length) return undefined;
  if ((versionCommand & 0xf) === 0) return { header: { version: 'v2', command: 'local' }, length };
  if ((versionCommand & 0xf) !== 1) throw new MalformedProxyHeader('unknown v2 command');
  const familyTransport = buffer[13] ?? 0;
  const family = familyTransport >> 4;
  const transport = (familyTransport & 0xf) === 2 ? 'udp' : 'tcp';
  const body = buffer.subarray(16, length);
  if (family === 1 && body.length >= 12) {
    return {
      header: {
        version: 'v2',
        command: 'proxy',
        sourceAddress: [...body.subarray(0, 4)].join('.'),
        destinationAddress: [...body.subarray(4, 8)].join('.'),
        sourcePort: body.readUInt16BE(8),
        destinationPort: body.readUInt16BE(10),
        transport,
      },
      length,
    };
  }
  if (family === 2 && body.length >= 36) {
    return {
      header: {
        version: 'v2',
        command: 'proxy',
        sourceAddress: ipv6Text(body.subarray(0, 16)),
        destinationAddress: ipv6Text(body.subarray(16, 32)),
        sourcePort: body.readUInt16BE(32),
        destinationPort: body.readUInt16BE(34),
        transport,
      },
      length,
    };
  }
  // UNSPEC or UNIX addresses: the receiver must ignore the address block.
  return { header: { version: 'v2', command: 'local' }, length };
}
