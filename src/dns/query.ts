/**
 * Asking a name's authoritative server directly (no resolver, no cache), with dns-packet for
 * the messages: the name's A or AAAA records as the server holds them now, and the zone the
 * name belongs to (the owner of the SOA the server returns).
 */
import { randomInt } from 'node:crypto';
import * as dnsPacket from 'dns-packet';
import { PortholeError } from '../errors/index.js';
import { formatIp, isIpLiteral, parseIp } from '../net/index.js';
import { isInZone, malformed } from './dnsName.js';
import { rcodeError } from './rfc2136.js';
import { type DnsExchangeOptions, type DnsServer, dnsExchange, formatServer } from './transport.js';
import type { AddressType } from './updateCodec.js';

/** What the authoritative server holds for one name and type. */
export interface AuthoritativeAnswer {
  /** The addresses, sorted; empty when the name or the type does not exist. */
  readonly addresses: readonly string[];
  /** The records' TTL, when there are records. */
  readonly ttl: number | undefined;
  /** NOERROR or NXDOMAIN. */
  readonly exists: boolean;
}

function decodeAnswer(message: Buffer, id: number, where: string): dnsPacket.DecodedPacket | undefined {
  if (message.length < 12 || message.readUInt16BE(0) !== id) return undefined;
  // dns-packet reads as many records as the header counts, past the end of the bytes (found by
  // fuzzing mDNS): a question takes at least 5 bytes, a record 11.
  const records = message.readUInt16BE(6) + message.readUInt16BE(8) + message.readUInt16BE(10);
  if (12 + message.readUInt16BE(4) * 5 + records * 11 > message.length) {
    throw malformed(`${where}: the header counts more records than ${message.length} bytes hold`);
  }
  let packet: dnsPacket.DecodedPacket;
  try {
    packet = dnsPacket.decode(message);
  } catch (error) {
    throw malformed(`${where}: ${(error as Error).message}`);
  }
  if (packet.type !== 'response') throw malformed(`${where} sent a query, not an answer`);
  return packet;
}

/** A decoded answer and its RCODE. */
export interface QueryAnswer {
  readonly packet: dnsPacket.DecodedPacket;
  readonly rcode: number;
}

/**
 * One datagram read as the answer to query `id` for `name` and `type`, pure: undefined when it
 * answers another query; E_MALFORMED_PACKET when it does not decode or answers another question.
 */
export function decodeQueryAnswer(
  message: Buffer,
  id: number,
  name: string,
  type: 'A' | 'AAAA' | 'SOA',
  where: string,
): QueryAnswer | undefined {
  const packet = decodeAnswer(message, id, where);
  if (!packet) return undefined;
  const question = packet.questions?.[0];
  if (question && (question.name.toLowerCase() !== name || question.type !== type)) {
    throw malformed(`${where} answered another question (${question.name} ${question.type})`);
  }
  return { packet, rcode: (packet.flags ?? 0) & 0xf };
}

async function ask(
  server: DnsServer,
  name: string,
  type: 'A' | 'AAAA' | 'SOA',
  options: DnsExchangeOptions,
): Promise<QueryAnswer> {
  const id = randomInt(0, 0x10000);
  const where = formatServer(server);
  // No recursion desired: only the authority's own data counts.
  const query = dnsPacket.encode({ type: 'query', id, flags: 0, questions: [{ type, name, class: 'IN' }] });
  return dnsExchange(server, query, (message) => decodeQueryAnswer(message, id, name, type, where), options);
}

/** An authoritative-only server refuses queries for zones it does not serve: that is NOTAUTH. */
function queryError(rcode: number, where: string, name: string): PortholeError {
  if (rcode === 5) {
    return new PortholeError('E_DNS_NOTAUTH', {
      detail: `${where} refused to answer for ${name}: it serves no zone above it`,
      data: { rcode: 'REFUSED' },
    });
  }
  return rcodeError(rcode, where);
}

/** What an answer says of the name's A or AAAA records, pure (coded errors for refusals). */
export function addressesOfAnswer(
  { packet, rcode }: QueryAnswer,
  name: string,
  type: AddressType,
  where: string,
): AuthoritativeAnswer {
  if (rcode !== 0 && rcode !== 3) throw queryError(rcode, where, name);
  if (!packet.flag_aa) {
    throw new PortholeError('E_DNS_NOTAUTH', { detail: `${where} is not authoritative for ${name} (no AA bit)` });
  }
  const records = (packet.answers ?? []).filter(
    (a): a is dnsPacket.StringAnswer => a.type === type && a.name.toLowerCase() === name,
  );
  // dns-packet writes IPv6 its own way (7772::1:0:0:0:0 for 7772:0:0:1::): compared with the
  // address porthole wants, that text would send an UPDATE every time. RFC 5952 text, always.
  const addresses = records
    .map((a) => {
      const text = String(a.data);
      if (!isIpLiteral(text)) throw malformed(`${where}: ${type} record data "${text.slice(0, 60)}"`);
      return formatIp(parseIp(text));
    })
    .sort();
  return { addresses, ttl: records[0]?.ttl, exists: rcode === 0 };
}

/** The name's A or AAAA records at `server`, which must be authoritative for it. */
export async function queryAuthoritative(
  server: DnsServer,
  name: string,
  type: AddressType,
  options: DnsExchangeOptions = {},
): Promise<AuthoritativeAnswer> {
  return addressesOfAnswer(await ask(server, name, type, options), name, type, formatServer(server));
}

/** The zone an SOA answer names for `name`, pure (coded errors for refusals). */
export function zoneOfAnswer({ packet, rcode }: QueryAnswer, name: string, where: string): string {
  if (rcode !== 0 && rcode !== 3) throw queryError(rcode, where, name);
  const soa = [...(packet.answers ?? []), ...(packet.authorities ?? [])].find((r) => r.type === 'SOA');
  const zone = soa?.name.toLowerCase();
  if (!packet.flag_aa || zone === undefined || !isInZone(name, zone)) {
    throw new PortholeError('E_DNS_ZONE_UNKNOWN', { detail: `${where} gave no authoritative SOA above ${name}` });
  }
  return zone;
}

/** The zone `name` belongs to at `server`: the owner of the SOA in its answer or authority section. */
export async function findZone(server: DnsServer, name: string, options: DnsExchangeOptions = {}): Promise<string> {
  return zoneOfAnswer(await ask(server, name, 'SOA', options), name, formatServer(server));
}
