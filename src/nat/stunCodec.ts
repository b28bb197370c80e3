/**
 * STUN (RFC 8489) messages, pure: Binding requests and responses, the attributes RFC 5780 NAT
 * behaviour discovery needs (CHANGE-REQUEST, RESPONSE-ORIGIN, OTHER-ADDRESS), and FINGERPRINT.
 * The decoder checks every length against the buffer and caps what it reads; anything wrong is
 * E_MALFORMED_PACKET, which the I/O layer turns into a warning.
 */
import { crc32 } from 'node:zlib';
import { PortholeError } from '../errors/index.js';
import { formatIp, parseIp } from '../net/index.js';

export const MAGIC_COOKIE = 0x2112a442;
const HEADER_BYTES = 20;
/** Larger than any STUN message porthole sends or needs to read (RFC 8489 suggests 576 for UDP). */
export const MAX_STUN_BYTES = 1500;
/** More attributes than any sane response has. */
const MAX_ATTRIBUTES = 32;
const FINGERPRINT_XOR = 0x5354554e;

export const BINDING_REQUEST = 0x0001;
export const BINDING_SUCCESS = 0x0101;
export const BINDING_ERROR = 0x0111;

export const ATTR = {
  MAPPED_ADDRESS: 0x0001,
  CHANGE_REQUEST: 0x0003,
  ERROR_CODE: 0x0009,
  XOR_MAPPED_ADDRESS: 0x0020,
  SOFTWARE: 0x8022,
  FINGERPRINT: 0x8028,
  RESPONSE_ORIGIN: 0x802b,
  OTHER_ADDRESS: 0x802c,
} as const;

/** A transport address. */
export interface StunAddress {
  readonly address: string;
  readonly port: number;
}

/** A decoded STUN message. */
export interface StunMessage {
  readonly type: number;
  readonly transactionId: Uint8Array;
  readonly mappedAddress?: StunAddress;
  readonly xorMappedAddress?: StunAddress;
  readonly responseOrigin?: StunAddress;
  readonly otherAddress?: StunAddress;
  readonly changeRequest?: { readonly changeIp: boolean; readonly changePort: boolean };
  readonly errorCode?: { readonly code: number; readonly reason: string };
  readonly software?: string;
  readonly fingerprint: boolean;
}

function malformed(detail: string): PortholeError {
  return new PortholeError('E_MALFORMED_PACKET', { detail: `STUN: ${detail}` });
}

function encodeAddress(value: StunAddress, xor: boolean, transactionId: Uint8Array): Buffer {
  const parsed = parseIp(value.address);
  const body = Buffer.alloc(4 + parsed.bytes.length);
  body[1] = parsed.family === 4 ? 0x01 : 0x02;
  const cookie = Buffer.alloc(4);
  cookie.writeUInt32BE(MAGIC_COOKIE);
  body.writeUInt16BE(xor ? value.port ^ (MAGIC_COOKIE >>> 16) : value.port, 2);
  const mask = Buffer.concat([cookie, Buffer.from(transactionId)]);
  for (let i = 0; i < parsed.bytes.length; i++) body[4 + i] = (parsed.bytes[i] ?? 0) ^ (xor ? (mask[i] ?? 0) : 0);
  return body;
}

function decodeAddress(value: Buffer, xor: boolean, transactionId: Uint8Array): StunAddress {
  if (value.length < 8) throw malformed('address attribute too short');
  const family = value[1];
  const length = family === 0x01 ? 4 : family === 0x02 ? 16 : 0;
  if (length === 0 || value.length < 4 + length) throw malformed(`address family ${family}`);
  const cookie = Buffer.alloc(4);
  cookie.writeUInt32BE(MAGIC_COOKIE);
  const mask = Buffer.concat([cookie, Buffer.from(transactionId)]);
  const bytes = Uint8Array.from({ length }, (_, i) => (value[4 + i] ?? 0) ^ (xor ? (mask[i] ?? 0) : 0));
  const port = value.readUInt16BE(2) ^ (xor ? MAGIC_COOKIE >>> 16 : 0);
  return { address: formatIp({ family: length === 4 ? 4 : 6, bytes }), port };
}

function attribute(type: number, value: Buffer): Buffer {
  const padded = Buffer.alloc(4 + Math.ceil(value.length / 4) * 4);
  padded.writeUInt16BE(type, 0);
  padded.writeUInt16BE(value.length, 2);
  value.copy(padded, 4);
  return padded;
}

/** What a message to encode carries. */
export interface StunEncodeOptions {
  readonly type: number;
  readonly transactionId: Uint8Array;
  readonly changeRequest?: { changeIp: boolean; changePort: boolean };
  readonly xorMappedAddress?: StunAddress;
  readonly mappedAddress?: StunAddress;
  readonly responseOrigin?: StunAddress;
  readonly otherAddress?: StunAddress;
  readonly software?: string;
  /** Add FINGERPRINT (RFC 8489 section 14.7); on by default. */
  readonly fingerprint?: boolean;
}

/** Encodes a STUN message. */
export function encodeStunMessage(message: StunEncodeOptions): Buffer {
  if (message.transactionId.length !== 12) throw new RangeError('a STUN transaction id is 12 bytes');
  const tid = message.transactionId;
  const parts: Buffer[] = [];
  if (message.mappedAddress)
    parts.push(attribute(ATTR.MAPPED_ADDRESS, encodeAddress(message.mappedAddress, false, tid)));
  if (message.xorMappedAddress)
    parts.push(attribute(ATTR.XOR_MAPPED_ADDRESS, encodeAddress(message.xorMappedAddress, true, tid)));
  if (message.responseOrigin)
    parts.push(attribute(ATTR.RESPONSE_ORIGIN, encodeAddress(message.responseOrigin, false, tid)));
  if (message.otherAddress) parts.push(attribute(ATTR.OTHER_ADDRESS, encodeAddress(message.otherAddress, false, tid)));
  if (message.changeRequest) {
    const flags = Buffer.alloc(4);
    flags.writeUInt32BE((message.changeRequest.changeIp ? 0x04 : 0) | (message.changeRequest.changePort ? 0x02 : 0));
    parts.push(attribute(ATTR.CHANGE_REQUEST, flags));
  }
  if (message.software) parts.push(attribute(ATTR.SOFTWARE, Buffer.from(message.software, 'utf8')));
  const withFingerprint = message.fingerprint ?? true;
  const bodyLength = parts.reduce((sum, part) => sum + part.length, 0) + (withFingerprint ? 8 : 0);
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt16BE(message.type, 0);
  header.writeUInt16BE(bodyLength, 2);
  header.writeUInt32BE(MAGIC_COOKIE, 4);
  Buffer.from(tid).copy(header, 8);
  const unsigned = Buffer.concat([header, ...parts]);
  if (!withFingerprint) return unsigned;
  const fingerprint = Buffer.alloc(4);
  fingerprint.writeUInt32BE((crc32(unsigned) ^ FINGERPRINT_XOR) >>> 0);
  return Buffer.concat([unsigned, attribute(ATTR.FINGERPRINT, fingerprint)]);
}

/** Whether bytes look like STUN at all (RFC 8489 section 5): first two bits zero and the cookie. */
export function isStun(bytes: Uint8Array): boolean {
  return (
    bytes.length >= HEADER_BYTES &&
    ((bytes[0] ?? 0xff) & 0xc0) === 0 &&
    Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).readUInt32BE(4) === MAGIC_COOKIE
  );
}

/** Decodes a STUN message; throws E_MALFORMED_PACKET for truncation, bad cookie, bad FINGERPRINT, oversized input. */
export function decodeStunMessage(input: Uint8Array): StunMessage {
  if (input.length > MAX_STUN_BYTES) throw malformed(`${input.length} bytes is larger than ${MAX_STUN_BYTES}`);
  if (input.length < HEADER_BYTES) throw malformed('shorter than the header');
  const bytes = Buffer.from(input.buffer, input.byteOffset, input.length);
  if (!isStun(bytes)) throw malformed('not STUN (first bits or magic cookie)');
  const length = bytes.readUInt16BE(2);
  if (length % 4 !== 0 || HEADER_BYTES + length !== bytes.length)
    throw malformed(`length ${length} does not match ${bytes.length - HEADER_BYTES} bytes`);
  const transactionId = Uint8Array.from(bytes.subarray(8, 20));
  const result: { -readonly [K in keyof StunMessage]: StunMessage[K] } = {
    type: bytes.readUInt16BE(0),
    transactionId,
    fingerprint: false,
  };
  let offset = HEADER_BYTES;
  for (let count = 0; offset < bytes.length; count++) {
    if (count >= MAX_ATTRIBUTES) throw malformed(`more than ${MAX_ATTRIBUTES} attributes`);
    if (offset + 4 > bytes.length) throw malformed('truncated attribute header');
    const type = bytes.readUInt16BE(offset);
    const valueLength = bytes.readUInt16BE(offset + 2);
    const end = offset + 4 + valueLength;
    if (end > bytes.length) throw malformed(`attribute 0x${type.toString(16)} runs past the end`);
    const value = bytes.subarray(offset + 4, end);
    switch (type) {
      case ATTR.MAPPED_ADDRESS:
        result.mappedAddress = decodeAddress(value, false, transactionId);
        break;
      case ATTR.XOR_MAPPED_ADDRESS:
        result.xorMappedAddress = decodeAddress(value, true, transactionId);
        break;
      case ATTR.RESPONSE_ORIGIN:
        result.responseOrigin = decodeAddress(value, false, transactionId);
        break;
      case ATTR.OTHER_ADDRESS:
        result.otherAddress = decodeAddress(value, false, transactionId);
        break;
      case ATTR.CHANGE_REQUEST: {
        const flags = value.length >= 4 ? value.readUInt32BE(0) : 0;
        result.changeRequest = { changeIp: (flags & 0x04) !== 0, changePort: (flags & 0x02) !== 0 };
        break;
      }
      case ATTR.ERROR_CODE:
        if (value.length >= 4)
          result.errorCode = {
            code: (value[2] ?? 0) * 100 + (value[3] ?? 0),
            reason: value.subarray(4).toString('utf8'),
          };
        break;
      case ATTR.SOFTWARE:
        result.software = value.toString('utf8').slice(0, 128);
        break;
      case ATTR.FINGERPRINT: {
        if (valueLength !== 4 || end !== bytes.length)
          throw malformed('FINGERPRINT must be the last attribute, 4 bytes');
        const expected = (crc32(bytes.subarray(0, offset)) ^ FINGERPRINT_XOR) >>> 0;
        if (value.readUInt32BE(0) !== expected) throw malformed('FINGERPRINT mismatch');
        result.fingerprint = true;
        break;
      }
      default:
        // Unknown comprehension-optional attributes are skipped (RFC 8489 section 15).
        break;
    }
    offset = offset + 4 + Math.ceil(valueLength / 4) * 4;
  }
  return result;
}
