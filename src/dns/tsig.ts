/**
 * TSIG (RFC 8945), pure: signing a request and verifying its response with node:crypto's HMAC.
 * hmac-sha256 and hmac-sha512 are the algorithms to use; hmac-sha1 is accepted for old servers;
 * HMAC-MD5 is refused (RFC 8945 §6 deprecates it).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { PortholeError } from '../errors/index.js';
import { malformed, nameBytes, readName } from './dnsName.js';
import { CLASS, type DecodedMessage, decodeMessage, type RawRecord, TYPE } from './updateCodec.js';

/** The TSIG algorithms porthole signs with (RFC 8945 §6 names). */
export type TsigAlgorithm = 'hmac-sha256' | 'hmac-sha512' | 'hmac-sha1';

/** A shared secret as tsig-keygen writes it. The secret never leaves this process. */
export interface TsigKey {
  /** Key name, lower case without trailing dot. */
  readonly name: string;
  readonly algorithm: TsigAlgorithm;
  readonly secret: Buffer;
}

/** RFC 8945 §5.2.3: the default and the value nsupdate uses. */
export const DEFAULT_FUDGE_SECONDS = 300;
const DIGESTS: Record<TsigAlgorithm, string> = {
  'hmac-sha256': 'sha256',
  'hmac-sha512': 'sha512',
  'hmac-sha1': 'sha1',
};
/** TSIG error values (RFC 8945 §3, the extended RCODEs 16-18, and 22 BADTRUNC). */
export const TSIG_ERROR = { BADSIG: 16, BADKEY: 17, BADTIME: 18, BADTRUNC: 22 } as const;

/** Whether `text` names an algorithm porthole accepts. */
export function isTsigAlgorithm(text: string): text is TsigAlgorithm {
  return Object.hasOwn(DIGESTS, text);
}

/** Options for signing. */
export interface SignOptions {
  /** Seconds since the epoch written as Time Signed (a test can skew it to provoke BADTIME). */
  readonly timeSigned: number;
  readonly fudge?: number;
}

/** A signed request: its bytes and the MAC the response's signature covers. */
export interface SignedMessage {
  readonly bytes: Buffer;
  readonly mac: Buffer;
}

function u16(value: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(value);
  return b;
}

function u48(value: number): Buffer {
  const b = Buffer.alloc(6);
  b.writeUIntBE(value, 0, 6);
  return b;
}

/** The TSIG variables (RFC 8945 §4.3.3) that follow the message in the MAC's input. */
function variables(key: TsigKey, time: number, fudge: number, error: number, other: Buffer): Buffer {
  return Buffer.concat([
    nameBytes(key.name),
    u16(CLASS.ANY),
    Buffer.alloc(4), // TTL 0
    nameBytes(key.algorithm),
    u48(time),
    u16(fudge),
    u16(error),
    u16(other.length),
    other,
  ]);
}

function hmac(key: TsigKey, ...parts: Buffer[]): Buffer {
  const h = createHmac(DIGESTS[key.algorithm], key.secret);
  for (const part of parts) h.update(part);
  return h.digest();
}

/** Appends a TSIG record to an unsigned message (ARCOUNT is raised by one). */
export function signMessage(message: Uint8Array, key: TsigKey, options: SignOptions): SignedMessage {
  const unsigned = Buffer.from(message);
  const fudge = options.fudge ?? DEFAULT_FUDGE_SECONDS;
  const time = Math.floor(options.timeSigned);
  const mac = hmac(key, unsigned, variables(key, time, fudge, 0, Buffer.alloc(0)));
  const signed = appendTsig(unsigned, key, time, fudge, mac, 0, Buffer.alloc(0));
  return { bytes: signed, mac };
}

/** Options for signing a response. */
export interface SignResponseOptions extends SignOptions {
  /** A TSIG error to report (BADTIME is signed; BADSIG and BADKEY are sent unsigned). */
  readonly error?: number;
  /** Other data: the server's time for BADTIME. */
  readonly other?: Buffer;
}

/**
 * Signs a response to a request whose MAC was `requestMac` (RFC 8945 §5.3): what the name
 * service's test servers and a fake server in the tests answer with.
 */
export function signResponse(
  message: Uint8Array,
  key: TsigKey,
  requestMac: Buffer,
  options: SignResponseOptions,
): Buffer {
  const unsigned = Buffer.from(message);
  const fudge = options.fudge ?? DEFAULT_FUDGE_SECONDS;
  const time = Math.floor(options.timeSigned);
  const error = options.error ?? 0;
  const other = options.other ?? Buffer.alloc(0);
  const unsignedError = error === TSIG_ERROR.BADSIG || error === TSIG_ERROR.BADKEY;
  const mac = unsignedError
    ? Buffer.alloc(0)
    : hmac(key, u16(requestMac.length), requestMac, unsigned, variables(key, time, fudge, error, other));
  return appendTsig(unsigned, key, time, fudge, mac, error, other);
}

function appendTsig(
  unsigned: Buffer,
  key: TsigKey,
  time: number,
  fudge: number,
  mac: Buffer,
  error: number,
  other: Buffer,
): Buffer {
  const rdata = Buffer.concat([
    nameBytes(key.algorithm),
    u48(time),
    u16(fudge),
    u16(mac.length),
    mac,
    u16(unsigned.readUInt16BE(0)),
    u16(error),
    u16(other.length),
    other,
  ]);
  // The key name is written uncompressed, as BIND does.
  const tsig = Buffer.concat([
    nameBytes(key.name),
    u16(TYPE.TSIG),
    u16(CLASS.ANY),
    Buffer.alloc(4),
    u16(rdata.length),
    rdata,
  ]);
  const signed = Buffer.concat([unsigned, tsig]);
  signed.writeUInt16BE(signed.readUInt16BE(10) + 1, 10);
  return signed;
}

/** A TSIG record's RDATA, decoded. */
export interface TsigRecord {
  readonly keyName: string;
  readonly algorithm: string;
  readonly timeSigned: number;
  readonly fudge: number;
  readonly mac: Buffer;
  readonly originalId: number;
  readonly error: number;
  readonly other: Buffer;
  readonly offset: number;
}

/** Decodes the TSIG record of a message (the last additional), or undefined when it has none. */
export function tsigOf(message: Buffer, decoded: DecodedMessage): TsigRecord | undefined {
  const last: RawRecord | undefined = decoded.additionals.at(-1);
  if (!last || last.type !== TYPE.TSIG) return undefined;
  const { name: algorithm, next } = readName(message, last.rdataOffset);
  const end = last.rdataOffset + last.rdata.length;
  if (next + 10 > end) throw malformed('TSIG record too short');
  const macSize = message.readUInt16BE(next + 8);
  const afterMac = next + 10 + macSize;
  if (afterMac + 6 > end) throw malformed('TSIG MAC runs past its record');
  const otherLength = message.readUInt16BE(afterMac + 4);
  if (afterMac + 6 + otherLength !== end) throw malformed('TSIG other data does not fill its record');
  return {
    keyName: last.name,
    algorithm,
    timeSigned: message.readUIntBE(next, 6),
    fudge: message.readUInt16BE(next + 6),
    mac: message.subarray(next + 10, afterMac),
    originalId: message.readUInt16BE(afterMac),
    error: message.readUInt16BE(afterMac + 2),
    other: message.subarray(afterMac + 6, end),
    offset: last.offset,
  };
}

/** What verifying a response found: a signed answer, or a TSIG error the server reported. */
export type TsigVerdict =
  | { readonly kind: 'signed'; readonly tsig: TsigRecord }
  | { readonly kind: 'unsigned' }
  | { readonly kind: 'tsig-error'; readonly tsig: TsigRecord; readonly serverTime: number | undefined };

/**
 * Verifies a response to a request signed with `requestMac` (RFC 8945 §5.3): the MAC covers
 * the request's MAC, the response without its TSIG record (original ID, ARCOUNT less one) and
 * the TSIG variables. A TSIG error (BADSIG, BADKEY: unsigned; BADTIME: signed) is a verdict for
 * the caller to turn into its coded error; a forged or altered answer throws
 * E_DNS_RESPONSE_SIGNATURE.
 */
export function verifyResponse(
  bytes: Uint8Array,
  key: TsigKey,
  requestMac: Buffer,
  nowSeconds: number,
): { decoded: DecodedMessage; verdict: TsigVerdict } {
  const message = Buffer.from(bytes);
  const decoded = decodeMessage(message);
  const tsig = tsigOf(message, decoded);
  if (!tsig) return { decoded, verdict: { kind: 'unsigned' } };
  if (tsig.keyName !== key.name || tsig.algorithm !== key.algorithm) {
    throw new PortholeError('E_DNS_RESPONSE_SIGNATURE', {
      detail: `signed with key "${tsig.keyName}" (${tsig.algorithm}), not "${key.name}" (${key.algorithm})`,
    });
  }
  // BADSIG and BADKEY answers carry no MAC: the server could not sign with a key it rejected.
  if (tsig.error !== 0 && tsig.mac.length === 0) {
    return { decoded, verdict: { kind: 'tsig-error', tsig, serverTime: undefined } };
  }
  const body = Buffer.from(message.subarray(0, tsig.offset));
  body.writeUInt16BE(tsig.originalId, 0);
  body.writeUInt16BE(body.readUInt16BE(10) - 1, 10);
  const expected = hmac(
    key,
    u16(requestMac.length),
    requestMac,
    body,
    variables(key, tsig.timeSigned, tsig.fudge, tsig.error, tsig.other),
  );
  // RFC 8945 §5.2.2.1: a truncated MAC must keep at least half the digest and 10 bytes.
  const minimum = Math.max(10, expected.length / 2);
  if (
    tsig.mac.length < minimum ||
    tsig.mac.length > expected.length ||
    !timingSafeEqual(tsig.mac, expected.subarray(0, tsig.mac.length))
  ) {
    throw new PortholeError('E_DNS_RESPONSE_SIGNATURE', { detail: 'the MAC does not match' });
  }
  if (tsig.error === TSIG_ERROR.BADTIME) {
    const serverTime = tsig.other.length === 6 ? tsig.other.readUIntBE(0, 6) : undefined;
    return { decoded, verdict: { kind: 'tsig-error', tsig, serverTime } };
  }
  if (tsig.error !== 0) return { decoded, verdict: { kind: 'tsig-error', tsig, serverTime: undefined } };
  if (Math.abs(nowSeconds - tsig.timeSigned) > tsig.fudge) {
    throw new PortholeError('E_DNS_BADTIME', {
      detail: `the answer was signed at ${tsig.timeSigned}, ${Math.abs(nowSeconds - tsig.timeSigned)} s from this clock`,
    });
  }
  return { decoded, verdict: { kind: 'signed', tsig } };
}
