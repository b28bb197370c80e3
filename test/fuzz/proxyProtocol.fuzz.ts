/** Fuzz target: PROXY protocol v1/v2 headers (decodeProxyHeader, src/relay/proxyProtocol.ts), as a local server behind the relay reads the start of a connection. */
import fc from 'fast-check';
import { formatIp, parseIp } from '../../src/net/address.js';
import {
  decodeProxyHeader,
  encodeProxyHeader,
  PROXY_V2_SIGNATURE,
  type ProxyHeader,
} from '../../src/relay/proxyProtocol.js';
import { type FuzzCase, type FuzzTarget, utf8 } from './runner.js';

/** What a server keeps: the header (addresses in RFC 5952 text) and how many bytes it took. */
type Read = { header: ProxyHeader; length: number } | undefined;

const port = fc.integer({ min: 0, max: 0xffff });
const valid: fc.Arbitrary<FuzzCase<NonNullable<Read>>> = fc
  .record({
    version: fc.constantFrom('v1' as const, 'v2' as const),
    family: fc.constantFrom(4, 6),
    v4: fc.tuple(fc.ipV4(), fc.ipV4()),
    v6: fc.tuple(fc.ipV6(), fc.ipV6()),
    sourcePort: port,
    destinationPort: port,
    transport: fc.constantFrom('tcp' as const, 'udp' as const),
    trailing: fc.uint8Array({ maxLength: 16 }),
  })
  .map(({ version, family, v4, v6, sourcePort, destinationPort, transport, trailing }) => {
    const [sourceAddress, destinationAddress] = (family === 4 ? v4 : v6).map((a) => formatIp(parseIp(a)));
    const connection = {
      sourceAddress: sourceAddress ?? '',
      destinationAddress: destinationAddress ?? '',
      sourcePort,
      destinationPort,
      // v1 carries TCP only.
      transport: version === 'v1' ? ('tcp' as const) : transport,
    };
    const header = encodeProxyHeader(version, connection);
    return {
      // What the client sent after the header must not count as header.
      bytes: new Uint8Array([...header, ...trailing]),
      expected: { header: { version, command: 'proxy' as const, ...connection }, length: header.length },
    };
  });

const canonical = (read: Read) =>
  read && read.header.command === 'proxy'
    ? {
        ...read,
        header: {
          ...read.header,
          sourceAddress: formatIp(parseIp(read.header.sourceAddress)),
          destinationAddress: formatIp(parseIp(read.header.destinationAddress)),
        },
      }
    : read;

/** The target. */
export const target: FuzzTarget<Read> = {
  name: 'proxyProtocol',
  decoder: 'decodeProxyHeader (src/relay/proxyProtocol.ts)',
  rejectCodes: ['E_RELAY_MALFORMED'],
  seeds: [
    // The examples of HAProxy's proxy-protocol.txt, as haproxy and nginx read them.
    utf8('PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n'),
    utf8('PROXY TCP6 ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n'),
    utf8('PROXY TCP6 2001:db8::1 2001:db8::2 51234 22\r\nSSH-2.0-OpenSSH_9.2\r\n'),
    utf8('PROXY UNKNOWN\r\n'),
    utf8('PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n'),
    new Uint8Array([...PROXY_V2_SIGNATURE, 0x20, 0x00, 0x00, 0x00]),
    new Uint8Array([...PROXY_V2_SIGNATURE, 0x21, 0x31, 0x00, 0x6c, ...new Uint8Array(108)]),
    new Uint8Array([
      ...PROXY_V2_SIGNATURE,
      0x21,
      0x11,
      0x00,
      0x0f,
      192,
      0,
      2,
      1,
      198,
      51,
      100,
      2,
      0xc8,
      0x1e,
      0,
      22,
      3,
      0,
      0,
    ]),
  ],
  valid,
  maxBytes: 1024,
  decode: (bytes) => canonical(decodeProxyHeader(bytes)),
  same: (decoded, expected) => JSON.stringify(canonical(decoded)) === JSON.stringify(expected),
};
