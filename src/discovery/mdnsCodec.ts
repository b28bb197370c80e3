/**
 * mDNS messages (RFC 6762) through dns-packet, pure: queries with the unicast-response (QU)
 * bit where wanted, and responses reduced to the records DNS-SD needs (PTR, SRV, TXT, A,
 * AAAA). dns-packet refuses compression pointers that do not point backwards, so a name
 * cannot loop; this file caps the size and turns every decoding failure into one typed error.
 */
import dnsPacket from 'dns-packet';
import { PortholeError } from '../errors/index.js';
import { formatIp, isIpLiteral, parseIp } from '../net/index.js';

/** mDNS's groups and port (RFC 6762 section 3). */
export const MDNS_ADDRESS = '224.0.0.251';
export const MDNS_ADDRESS_V6 = 'ff02::fb';
export const MDNS_PORT = 5353;
/**
 * RFC 6762 section 17: an mDNS packet, IP and UDP headers included, never exceeds 9000 bytes;
 * 28 of them are IPv4 and UDP headers, so a larger DNS message is not mDNS.
 */
export const MAX_MDNS_BYTES = 9000 - 28;
/** The DNS-SD meta-query name that lists every service type (RFC 6763 section 9). */
export const SERVICES_META = '_services._dns-sd._udp.local';

/** The record types discovery asks for. */
export type MdnsRecordType = 'PTR' | 'SRV' | 'TXT' | 'A' | 'AAAA';

/** One question. */
export interface MdnsQuestion {
  readonly name: string;
  readonly type: MdnsRecordType;
}

/** One record DNS-SD uses; other types are dropped while decoding. */
export type MdnsRecord =
  | { readonly type: 'PTR'; readonly name: string; readonly ttl: number; readonly target: string }
  | {
      readonly type: 'SRV';
      readonly name: string;
      readonly ttl: number;
      readonly target: string;
      readonly port: number;
    }
  | { readonly type: 'TXT'; readonly name: string; readonly ttl: number; readonly strings: readonly string[] }
  | { readonly type: 'A' | 'AAAA'; readonly name: string; readonly ttl: number; readonly address: string };

/** A decoded mDNS message. */
export interface MdnsMessage {
  readonly id: number;
  readonly response: boolean;
  readonly questions: readonly MdnsQuestion[];
  /** Answers, authorities and additionals together: DNS-SD uses them alike. */
  readonly records: readonly MdnsRecord[];
}

const QU_BIT = 0x8000;

/**
 * A query. `unicastResponse` sets the QU bit on every question (RFC 6762 5.4: the first query
 * asks for unicast answers, repeats ask for multicast ones). dns-packet cannot set the bit, so it
 * is set in the encoded bytes: its encoder never compresses names, so each question is a plain
 * label sequence followed by type and class.
 */
export function encodeMdnsQuery(
  questions: readonly MdnsQuestion[],
  options: { readonly id?: number; readonly unicastResponse?: boolean } = {},
): Uint8Array {
  const bytes = dnsPacket.encode({
    type: 'query',
    id: options.id ?? 0,
    flags: 0,
    questions: questions.map((q) => ({ name: q.name, type: q.type, class: 'IN' })),
  });
  if (options.unicastResponse) {
    let offset = 12;
    for (let i = 0; i < questions.length; i++) {
      while (bytes[offset] !== 0) offset += (bytes[offset] ?? 0) + 1;
      offset += 1 + 2; // the root label, then the type
      bytes.writeUInt16BE(bytes.readUInt16BE(offset) | QU_BIT, offset);
      offset += 2;
    }
  }
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Whether the question at `index` of an encoded query asks for a unicast answer (for tests). */
export function questionWantsUnicast(bytes: Uint8Array, index: number): boolean {
  let offset = 12;
  for (let i = 0; ; i++) {
    while (bytes[offset] !== 0) offset += (bytes[offset] ?? 0) + 1;
    offset += 3;
    if (i === index) return (((bytes[offset] ?? 0) << 8) & QU_BIT) !== 0;
    offset += 2;
  }
}

/** A response with the given records, as a responder sends it (tests and fixtures). */
export function encodeMdnsResponse(records: readonly MdnsRecord[], id = 0): Uint8Array {
  const answers = records.map((r): dnsPacket.Answer => {
    switch (r.type) {
      case 'PTR':
        return { type: 'PTR', name: r.name, ttl: r.ttl, class: 'IN', data: r.target };
      case 'SRV':
        return { type: 'SRV', name: r.name, ttl: r.ttl, class: 'IN', data: { target: r.target, port: r.port } };
      case 'TXT':
        return { type: 'TXT', name: r.name, ttl: r.ttl, class: 'IN', data: [...r.strings] };
      default:
        return { type: r.type, name: r.name, ttl: r.ttl, class: 'IN', data: r.address };
    }
  });
  const bytes = dnsPacket.encode({ type: 'response', id, flags: dnsPacket.AUTHORITATIVE_ANSWER, answers });
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function malformed(detail: string, cause?: unknown): PortholeError {
  return new PortholeError('E_DISCOVERY_MALFORMED', { detail: `mDNS: ${detail}`, cause });
}

function txtStrings(data: unknown): string[] {
  const parts = Array.isArray(data) ? data : [data];
  return parts.map((part) => (Buffer.isBuffer(part) ? part.toString('utf8') : String(part)));
}

function recordOf(answer: dnsPacket.Answer): MdnsRecord | undefined {
  const ttl = 'ttl' in answer ? (answer.ttl ?? 0) : 0;
  switch (answer.type) {
    case 'PTR':
      return { type: 'PTR', name: answer.name, ttl, target: answer.data };
    case 'SRV':
      return { type: 'SRV', name: answer.name, ttl, target: answer.data.target, port: answer.data.port };
    case 'TXT':
      return { type: 'TXT', name: answer.name, ttl, strings: txtStrings(answer.data) };
    case 'A':
    case 'AAAA':
      if (!isIpLiteral(answer.data)) throw malformed(`${answer.type} ${answer.name}: not an address`);
      // RFC 5952 text: dns-packet writes b9c:0:0:913:: as b9c::913:0:0:0:0 (found by fuzzing).
      return { type: answer.type, name: answer.name, ttl, address: formatIp(parseIp(answer.data)) };
    default:
      return undefined;
  }
}

/** Reads an mDNS message; throws E_DISCOVERY_MALFORMED for anything dns-packet cannot decode. */
export function decodeMdnsMessage(bytes: Uint8Array): MdnsMessage {
  if (bytes.length > MAX_MDNS_BYTES) throw malformed(`${bytes.length} bytes, more than ${MAX_MDNS_BYTES}`);
  if (bytes.length < 12) throw malformed(`${bytes.length} bytes, shorter than a DNS header`);
  // dns-packet reads as many records as the header counts, past the end of the bytes: 28 bytes
  // claiming 50 000 records took 100 ms (found by fuzzing). A question takes at least 5 bytes
  // (root name, type, class), a record 11 (root name, type, class, TTL, RDATA length).
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const questions = view.readUInt16BE(4);
  const records = view.readUInt16BE(6) + view.readUInt16BE(8) + view.readUInt16BE(10);
  if (12 + questions * 5 + records * 11 > bytes.length) {
    throw malformed(
      `the header counts ${questions} questions and ${records} records, more than ${bytes.length} bytes hold`,
    );
  }
  let packet: dnsPacket.DecodedPacket;
  try {
    packet = dnsPacket.decode(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (error) {
    throw malformed((error as Error).message, error);
  }
  // dns-packet does not check record data against the end of the buffer: a truncated message
  // decodes into garbage (an A record of "10.undefined..."), so the length it consumed decides.
  const consumed = (dnsPacket.decode as unknown as { bytes: number }).bytes;
  if (consumed > bytes.length) throw malformed(`truncated: records run ${consumed - bytes.length} bytes past the end`);
  const all = [...(packet.answers ?? []), ...(packet.authorities ?? []), ...(packet.additionals ?? [])];
  return {
    id: packet.id ?? 0,
    response: packet.type === 'response',
    questions: (packet.questions ?? [])
      .filter((q) => ['PTR', 'SRV', 'TXT', 'A', 'AAAA'].includes(q.type))
      .map((q) => ({ name: q.name, type: q.type as MdnsRecordType })),
    records: all.map(recordOf).filter((r): r is MdnsRecord => r !== undefined),
  };
}
