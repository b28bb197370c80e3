/**
 * Fuzz target: an authoritative server's answer to porthole's A, AAAA or SOA query
 * (decodeQueryAnswer, addressesOfAnswer, zoneOfAnswer in src/dns/query.ts, through dns-packet),
 * as the UDP exchange hands a datagram over.
 */
import * as dnsPacket from 'dns-packet';
import fc from 'fast-check';
import { addressesOfAnswer, decodeQueryAnswer, zoneOfAnswer } from '../../src/dns/query.js';
import { formatIp, parseIp } from '../../src/net/address.js';
import type { FuzzCase, FuzzTarget } from './runner.js';

const NAME = 'host.example.test';
const ZONE = 'example.test';
const TYPES = ['A', 'AAAA', 'SOA'] as const;

/** What porthole reads from an answer: the addresses and whether the name exists, or the zone. */
type Read = { addresses: string[]; exists: boolean } | { zone: string };

/** Input: the first byte picks the question type, then the answer (its own id is the query's). */
function read(bytes: Uint8Array): Read | undefined {
  const type = TYPES[(bytes[0] ?? 0) % TYPES.length] ?? 'A';
  const message = Buffer.from(bytes.subarray(1));
  const id = message.length >= 2 ? message.readUInt16BE(0) : 0;
  const answer = decodeQueryAnswer(message, id, NAME, type, 'fuzz');
  if (!answer) return undefined;
  if (type === 'SOA') return { zone: zoneOfAnswer(answer, NAME, 'fuzz') };
  const { addresses, exists } = addressesOfAnswer(answer, NAME, type, 'fuzz');
  return { addresses: [...addresses], exists };
}

const soa = (name: string): dnsPacket.Answer => ({
  type: 'SOA',
  name,
  ttl: 3600,
  class: 'IN',
  data: {
    mname: `ns.${name}`,
    rname: `hostmaster.${name}`,
    serial: 7,
    refresh: 3600,
    retry: 600,
    expire: 86400,
    minimum: 60,
  },
});

function encode(type: (typeof TYPES)[number], answers: dnsPacket.Answer[], authorities: dnsPacket.Answer[], rcode = 0) {
  const bytes = dnsPacket.encode({
    type: 'response',
    id: 0x4242,
    flags: dnsPacket.AUTHORITATIVE_ANSWER | rcode,
    questions: [{ type, name: NAME, class: 'IN' }],
    answers,
    authorities,
  });
  return new Uint8Array([TYPES.indexOf(type), ...bytes]);
}

const valid: fc.Arbitrary<FuzzCase<Read>> = fc.oneof(
  fc
    .record({ v4: fc.uniqueArray(fc.ipV4(), { maxLength: 4 }), ttl: fc.integer({ min: 0, max: 86400 }) })
    .map(({ v4, ttl }) => ({
      bytes: encode(
        'A',
        v4.map((address) => ({ type: 'A', name: NAME, ttl, class: 'IN', data: address })),
        [],
      ),
      expected: { addresses: [...v4].sort(), exists: true },
    })),
  fc
    .record({ v6: fc.uniqueArray(fc.ipV6(), { maxLength: 4 }), ttl: fc.integer({ min: 0, max: 86400 }) })
    .map(({ v6, ttl }) => {
      const canonical = [...new Set(v6.map((address) => formatIp(parseIp(address))))];
      return {
        bytes: encode(
          'AAAA',
          canonical.map((address) => ({ type: 'AAAA', name: NAME, ttl, class: 'IN', data: address })),
          [],
        ),
        expected: { addresses: [...canonical].sort(), exists: true },
      };
    }),
  fc.constantFrom(ZONE, NAME).map((zone) => ({ bytes: encode('SOA', [], [soa(zone)], 3), expected: { zone } })),
);

/** The target. */
export const target: FuzzTarget<Read> = {
  name: 'dnsQuery',
  decoder: 'decodeQueryAnswer, addressesOfAnswer, zoneOfAnswer (src/dns/query.ts, dns-packet)',
  // An answer that refuses (an RCODE) or is not the authority's is a coded answer porthole reports.
  rejectCodes: [
    'E_MALFORMED_PACKET',
    'E_DNS_NOTAUTH',
    'E_DNS_ZONE_UNKNOWN',
    'E_DNS_FORMERR',
    'E_DNS_SERVFAIL',
    'E_DNS_NXDOMAIN',
    'E_DNS_NOTIMP',
    'E_DNS_REFUSED',
    'E_DNS_YXDOMAIN',
    'E_DNS_YXRRSET',
    'E_DNS_NXRRSET',
    'E_DNS_NOTZONE',
    'E_DNS_RCODE',
  ],
  seeds: [
    encode('A', [{ type: 'A', name: NAME, ttl: 60, class: 'IN', data: '203.0.113.77' }], [soa(ZONE)]),
    encode('AAAA', [{ type: 'AAAA', name: NAME, ttl: 60, class: 'IN', data: '2001:db8::78' }], []),
    encode('A', [], [soa(ZONE)], 3),
    encode('SOA', [soa(ZONE)], []),
    encode('SOA', [], [soa(ZONE)], 5),
  ],
  valid,
  maxBytes: 4096,
  decode: read,
};
