/**
 * RFC 2136 UPDATE messages, pure: the request (zone, prerequisites, updates) written the way
 * BIND's nsupdate writes it, and the response read far enough to know its RCODE and where its
 * TSIG record starts. dns-packet cannot write class NONE/ANY records with empty RDATA nor
 * compress names, so UPDATE has this small codec; queries use dns-packet (query.ts).
 */
import { PortholeError } from '../errors/index.js';
import { formatIp, parseIp } from '../net/index.js';
import { MessageWriter, malformed, readName } from './dnsName.js';

/** DNS opcode of an UPDATE (RFC 2136 §1.3). */
export const OPCODE_UPDATE = 5;
/** Record types porthole updates, and the ones the codec must name. */
export const TYPE = { A: 1, SOA: 6, AAAA: 28, TSIG: 250, ANY: 255 } as const;
/** Classes: IN for data, NONE and ANY carry RFC 2136's delete and prerequisite meanings. */
export const CLASS = { IN: 1, NONE: 254, ANY: 255 } as const;
/** The largest UDP message we accept (EDNS buffers rarely exceed this). */
export const MAX_DNS_MESSAGE = 4096;
const HEADER_BYTES = 12;

/** An address record type porthole keeps. */
export type AddressType = 'A' | 'AAAA';

/** One change of the update section (RFC 2136 §2.5). */
export type UpdateChange =
  /** Delete every record of this type at the name (class ANY, TTL 0, no RDATA). */
  | { readonly op: 'delete-rrset'; readonly name: string; readonly type: AddressType }
  /** Delete one record (class NONE). */
  | { readonly op: 'delete-record'; readonly name: string; readonly type: AddressType; readonly address: string }
  /** Add a record. */
  | {
      readonly op: 'add';
      readonly name: string;
      readonly type: AddressType;
      readonly ttl: number;
      readonly address: string;
    };

/** One prerequisite (RFC 2136 §2.4). */
export type UpdatePrerequisite =
  | { readonly op: 'rrset-exists'; readonly name: string; readonly type: AddressType }
  | { readonly op: 'rrset-absent'; readonly name: string; readonly type: AddressType }
  | { readonly op: 'name-in-use'; readonly name: string }
  | { readonly op: 'name-not-in-use'; readonly name: string };

/** An UPDATE request before signing. */
export interface UpdateRequest {
  readonly id: number;
  /** The zone (owner of its SOA), lower case without trailing dot. */
  readonly zone: string;
  readonly prerequisites?: readonly UpdatePrerequisite[];
  readonly changes: readonly UpdateChange[];
}

/** The RFC 2136 way to replace a record set: delete it, then add the new records, in one message. */
export function replaceRRset(
  name: string,
  type: AddressType,
  addresses: readonly string[],
  ttl: number,
): UpdateChange[] {
  return [
    { op: 'delete-rrset', name, type },
    ...addresses.map((address): UpdateChange => ({ op: 'add', name, type, ttl, address })),
  ];
}

function addressBytes(type: AddressType, address: string): Uint8Array {
  const parsed = parseIp(address);
  if ((type === 'A') !== (parsed.family === 4)) {
    throw new PortholeError('E_ADDRESS', {
      detail: `${address} is not an ${type === 'A' ? 'IPv4' : 'IPv6'} address for an ${type} record`,
    });
  }
  return parsed.bytes;
}

function record(w: MessageWriter, name: string, type: number, klass: number, ttl: number, rdata?: Uint8Array): void {
  w.name(name);
  w.u16(type);
  w.u16(klass);
  w.u32(ttl);
  w.u16(rdata?.length ?? 0);
  if (rdata) w.bytes(rdata);
}

/** Writes an unsigned UPDATE message (ARCOUNT 0; tsig.ts appends the signature). */
export function encodeUpdate(request: UpdateRequest): Buffer {
  const prerequisites = request.prerequisites ?? [];
  const w = new MessageWriter();
  w.u16(request.id & 0xffff);
  w.u16(OPCODE_UPDATE << 11);
  w.u16(1);
  w.u16(prerequisites.length);
  w.u16(request.changes.length);
  w.u16(0);
  w.name(request.zone);
  w.u16(TYPE.SOA);
  w.u16(CLASS.IN);
  for (const p of prerequisites) {
    if (p.op === 'rrset-exists') record(w, p.name, TYPE[p.type], CLASS.ANY, 0);
    else if (p.op === 'rrset-absent') record(w, p.name, TYPE[p.type], CLASS.NONE, 0);
    else if (p.op === 'name-in-use') record(w, p.name, TYPE.ANY, CLASS.ANY, 0);
    else record(w, p.name, TYPE.ANY, CLASS.NONE, 0);
  }
  for (const c of request.changes) {
    if (c.op === 'delete-rrset') record(w, c.name, TYPE[c.type], CLASS.ANY, 0);
    else if (c.op === 'delete-record') record(w, c.name, TYPE[c.type], CLASS.NONE, 0, addressBytes(c.type, c.address));
    else record(w, c.name, TYPE[c.type], CLASS.IN, c.ttl, addressBytes(c.type, c.address));
  }
  return w.finish();
}

/** One resource record as read from a message (RDATA left raw). */
export interface RawRecord {
  readonly name: string;
  readonly type: number;
  readonly klass: number;
  readonly ttl: number;
  readonly rdata: Buffer;
  /** Where the record starts in the message (TSIG verification cuts the message there). */
  readonly offset: number;
  /** Where the RDATA starts (names inside it may point back into the message). */
  readonly rdataOffset: number;
}

/** A decoded DNS message header and sections, enough for UPDATE responses and TSIG. */
export interface DecodedMessage {
  readonly id: number;
  readonly response: boolean;
  readonly opcode: number;
  readonly rcode: number;
  readonly questions: readonly { readonly name: string; readonly type: number; readonly klass: number }[];
  readonly answers: readonly RawRecord[];
  readonly authorities: readonly RawRecord[];
  readonly additionals: readonly RawRecord[];
}

/** Reads a whole DNS message; every length is checked; throws E_MALFORMED_PACKET. */
export function decodeMessage(bytes: Uint8Array): DecodedMessage {
  const message = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (message.length < HEADER_BYTES) throw malformed(`${message.length} bytes is shorter than a header`);
  if (message.length > MAX_DNS_MESSAGE) throw malformed(`${message.length} bytes is over the ${MAX_DNS_MESSAGE} cap`);
  const flags = message.readUInt16BE(2);
  const counts = [4, 6, 8, 10].map((at) => message.readUInt16BE(at));
  let offset = HEADER_BYTES;
  const questions: { name: string; type: number; klass: number }[] = [];
  for (let i = 0; i < (counts[0] ?? 0); i++) {
    const { name, next } = readName(message, offset);
    if (next + 4 > message.length) throw malformed('question runs past the end');
    questions.push({ name, type: message.readUInt16BE(next), klass: message.readUInt16BE(next + 2) });
    offset = next + 4;
  }
  const sections: RawRecord[][] = [[], [], []];
  for (const [index, section] of sections.entries()) {
    for (let i = 0; i < (counts[index + 1] ?? 0); i++) {
      const start = offset;
      const { name, next } = readName(message, offset);
      if (next + 10 > message.length) throw malformed('record header runs past the end');
      const length = message.readUInt16BE(next + 8);
      if (next + 10 + length > message.length) throw malformed('record data runs past the end');
      section.push({
        name,
        type: message.readUInt16BE(next),
        klass: message.readUInt16BE(next + 2),
        ttl: message.readUInt32BE(next + 4),
        rdata: message.subarray(next + 10, next + 10 + length),
        offset: start,
        rdataOffset: next + 10,
      });
      offset = next + 10 + length;
    }
  }
  if (offset !== message.length) throw malformed(`${message.length - offset} bytes after the last record`);
  return {
    id: message.readUInt16BE(0),
    response: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    rcode: flags & 0xf,
    questions,
    answers: sections[0] ?? [],
    authorities: sections[1] ?? [],
    additionals: sections[2] ?? [],
  };
}

/** The address an A or AAAA record's RDATA holds. */
export function addressOf(rdata: Uint8Array): string {
  if (rdata.length !== 4 && rdata.length !== 16) throw malformed(`address RDATA of ${rdata.length} bytes`);
  return formatIp({ family: rdata.length === 4 ? 4 : 6, bytes: rdata });
}
