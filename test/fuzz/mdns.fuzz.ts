/**
 * Fuzz target: mDNS / DNS-SD answers (decodeMdnsMessage, src/discovery/mdnsCodec.ts through
 * dns-packet, then DnsSdRecords and resolveServices, src/discovery/dnssd.ts), as a discovery
 * session hands a datagram over: what is heard is resolved into service instances.
 */
import fc from 'fast-check';
import { DnsSdRecords, resolveServices } from '../../src/discovery/dnssd.js';
import {
  decodeMdnsMessage,
  encodeMdnsQuery,
  encodeMdnsResponse,
  MAX_MDNS_BYTES,
  type MdnsRecord,
  SERVICES_META,
} from '../../src/discovery/mdnsCodec.js';
import { formatIp, parseIp } from '../../src/net/address.js';
import { captures, type FuzzCase, type FuzzTarget } from './runner.js';

const label = fc.stringMatching(/^[A-Za-z0-9_]([A-Za-z0-9 _-]{0,14}[A-Za-z0-9_])?$/);
const host = label.map((name) => `${name.replace(/ /g, '-')}.local`);
const ttl = fc.integer({ min: 0, max: 0x7fffffff });
const record: fc.Arbitrary<MdnsRecord> = fc.oneof(
  fc.record({ type: fc.constant('PTR' as const), name: host, ttl, target: host }),
  fc.record({ type: fc.constant('SRV' as const), name: host, ttl, target: host, port: fc.nat(0xffff) }),
  fc.record({
    type: fc.constant('TXT' as const),
    name: host,
    ttl,
    strings: fc.array(fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 40 }), {
      minLength: 1,
      maxLength: 4,
    }),
  }),
  fc.record({ type: fc.constant('A' as const), name: host, ttl, address: fc.ipV4() }),
  fc.record({
    type: fc.constant('AAAA' as const),
    name: host,
    ttl,
    address: fc.ipV6().map((a) => formatIp(parseIp(a))),
  }),
);

/** What discovery keeps of a datagram: its records, and what they resolve to. */
interface Heard {
  readonly response: boolean;
  readonly records: readonly MdnsRecord[];
  readonly instances: number;
}

const valid: fc.Arbitrary<FuzzCase<Heard>> = fc
  .array(record, { maxLength: 6 })
  .map((records) => ({ bytes: encodeMdnsResponse(records), expected: { response: true, records } }))
  .map(({ bytes, expected }) => ({ bytes, expected: { ...expected, instances: heard(bytes).instances } }));

function heard(bytes: Uint8Array): Heard {
  const message = decodeMdnsMessage(bytes);
  const records = new DnsSdRecords();
  records.add(message.records);
  const { instances } = resolveServices(records, []);
  return { response: message.response, records: message.records, instances: instances.length };
}

/** An avahi-style answer: a service type, an instance, its SRV, TXT and address, in one message. */
const avahiLike = encodeMdnsResponse([
  { type: 'PTR', name: SERVICES_META, ttl: 4500, target: '_http._tcp.local' },
  { type: 'PTR', name: '_http._tcp.local', ttl: 4500, target: 'Media server._http._tcp.local' },
  { type: 'SRV', name: 'Media server._http._tcp.local', ttl: 120, target: 'lan2.local', port: 8200 },
  { type: 'TXT', name: 'Media server._http._tcp.local', ttl: 4500, strings: ['path=/'] },
  { type: 'A', name: 'lan2.local', ttl: 120, address: '192.168.77.20' },
  { type: 'AAAA', name: 'lan2.local', ttl: 120, address: 'fe80::1' },
]);

/** A name whose pointer points at itself, and two names pointing at each other. */
function loop(pointers: number[][]): Uint8Array {
  const header = [0, 0, 0x84, 0, 0, 0, 0, pointers.length, 0, 0, 0, 0];
  const body = pointers.flatMap((target) => [...target, 0, 12, 0, 1, 0, 0, 0, 120, 0, 0]);
  return new Uint8Array([...header, ...body]);
}

/** The target. */
export const target: FuzzTarget<Heard> = {
  name: 'mdns',
  decoder:
    'decodeMdnsMessage (src/discovery/mdnsCodec.ts, dns-packet), DnsSdRecords and resolveServices (src/discovery/dnssd.ts)',
  rejectCodes: ['E_DISCOVERY_MALFORMED'],
  seeds: [
    // Real avahi-daemon answers captured in the lab (test/fixtures/discovery/avahi-*.hex), when present.
    ...captures('avahi-', 'discovery'),
    avahiLike,
    encodeMdnsQuery([{ name: SERVICES_META, type: 'PTR' }], { unicastResponse: true }),
    // Compression loops: a pointer to itself (offset 12) and two names pointing at each other.
    loop([[0xc0, 12]]),
    loop([
      [0xc0, 24],
      [0xc0, 12],
    ]),
  ],
  valid,
  maxBytes: MAX_MDNS_BYTES + 16,
  decode: heard,
  same: (decoded, expected) =>
    decoded !== undefined &&
    decoded.response === expected.response &&
    decoded.instances === expected.instances &&
    JSON.stringify(decoded.records) === JSON.stringify(expected.records),
};
