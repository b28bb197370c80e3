/**
 * The proof-of-identity protocol, pure: a checker sends a fresh nonce; a porthole listener
 * answers with HMAC-SHA256(key, protocol|nonce), which only a holder of the requester's key
 * can compute. So `verified: true` means the port reaches the machine that asked for the check.
 *
 * TCP (line based):  checker → "PORTHOLE/1 PROBE <32 hex>\n"
 *                    listener → "PORTHOLE/1 PROOF <64 hex>\n"   (or "PORTHOLE/1 HELLO\n" without a key)
 * UDP (binary):      request  = "PHU1" 0x01 nonce(16) zero padding, 64..512 bytes
 *                    response = "PHU1" 0x02 nonce(16) hmac(32) = 53 bytes, never more than the request
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Transport } from '../net/index.js';

/** Nonces are 16 random bytes: unguessable, never reused in practice. */
export const NONCE_BYTES = 16;
/** Keys are 32 random bytes, as HMAC-SHA256 wants. */
export const KEY_BYTES = 32;

const TCP_PROBE = /^PORTHOLE\/1 PROBE ([0-9a-f]{32})\r?\n$/;
const TCP_PROOF = /^PORTHOLE\/1 (?:PROOF ([0-9a-f]{64})|HELLO)\r?\n$/;
/** A TCP line longer than this is not ours; stop reading. */
export const MAX_TCP_LINE = 128;

const UDP_MAGIC = Buffer.from('PHU1', 'ascii');
const UDP_PROBE = 0x01;
const UDP_PROOF = 0x02;
/** The size of a UDP proof; requests smaller than this get no answer (no amplification). */
export const UDP_PROOF_BYTES = UDP_MAGIC.length + 1 + NONCE_BYTES + 32;
/** The size of the checker's UDP probe: padded above the proof so an answer is never larger. */
export const UDP_PROBE_BYTES = 64;
/** Datagrams above this are ignored outright. */
export const MAX_UDP_PROBE_BYTES = 512;

/** A fresh random nonce. */
export function newNonce(): Buffer {
  return randomBytes(NONCE_BYTES);
}

/** A fresh random proof key. */
export function newProofKey(): Buffer {
  return randomBytes(KEY_BYTES);
}

/** The proof for a nonce under a key, bound to the protocol so a TCP proof cannot answer UDP. */
export function computeProof(key: Uint8Array, protocol: Transport, nonce: Uint8Array): Buffer {
  return createHmac('sha256', key).update(`porthole/1|${protocol}|`).update(nonce).digest();
}

/** Constant-time check of a proof. */
export function proofMatches(key: Uint8Array, protocol: Transport, nonce: Uint8Array, proof: Uint8Array): boolean {
  const expected = computeProof(key, protocol, nonce);
  return proof.length === expected.length && timingSafeEqual(expected, proof);
}

/** The checker's TCP probe line. */
export function encodeTcpProbe(nonce: Uint8Array): string {
  return `PORTHOLE/1 PROBE ${Buffer.from(nonce).toString('hex')}\n`;
}

/** Reads a TCP probe line; undefined when the line is not one. */
export function decodeTcpProbe(line: string): Buffer | undefined {
  const hex = TCP_PROBE.exec(line)?.[1];
  return hex ? Buffer.from(hex, 'hex') : undefined;
}

/** The listener's TCP answer: a proof with a key, a plain hello without. */
export function encodeTcpProof(key: Uint8Array | undefined, nonce: Uint8Array): string {
  return key ? `PORTHOLE/1 PROOF ${computeProof(key, 'tcp', nonce).toString('hex')}\n` : 'PORTHOLE/1 HELLO\n';
}

/** Reads a TCP answer: the proof bytes, `hello` for a keyless porthole listener, undefined for anything else. */
export function decodeTcpProof(line: string): Buffer | 'hello' | undefined {
  const match = TCP_PROOF.exec(line);
  if (!match) return undefined;
  return match[1] ? Buffer.from(match[1], 'hex') : 'hello';
}

/** The checker's UDP probe datagram. */
export function encodeUdpProbe(nonce: Uint8Array): Buffer {
  const datagram = Buffer.alloc(UDP_PROBE_BYTES);
  UDP_MAGIC.copy(datagram, 0);
  datagram[UDP_MAGIC.length] = UDP_PROBE;
  Buffer.from(nonce).copy(datagram, UDP_MAGIC.length + 1);
  return datagram;
}

/** Reads a UDP probe; undefined when it is not one or too small to answer without amplifying. */
export function decodeUdpProbe(datagram: Uint8Array): Buffer | undefined {
  if (datagram.length < UDP_PROOF_BYTES || datagram.length > MAX_UDP_PROBE_BYTES) return undefined;
  const bytes = Buffer.from(datagram.buffer, datagram.byteOffset, datagram.length);
  if (!bytes.subarray(0, UDP_MAGIC.length).equals(UDP_MAGIC) || bytes[UDP_MAGIC.length] !== UDP_PROBE) return undefined;
  return Buffer.from(bytes.subarray(UDP_MAGIC.length + 1, UDP_MAGIC.length + 1 + NONCE_BYTES));
}

/** The listener's UDP answer (53 bytes); with no key the proof field is zero. */
export function encodeUdpProof(key: Uint8Array | undefined, nonce: Uint8Array): Buffer {
  const datagram = Buffer.alloc(UDP_PROOF_BYTES);
  UDP_MAGIC.copy(datagram, 0);
  datagram[UDP_MAGIC.length] = UDP_PROOF;
  Buffer.from(nonce).copy(datagram, UDP_MAGIC.length + 1);
  if (key) computeProof(key, 'udp', nonce).copy(datagram, UDP_MAGIC.length + 1 + NONCE_BYTES);
  return datagram;
}

/** Reads a UDP answer: its nonce and proof; undefined when it is not one. */
export function decodeUdpProof(datagram: Uint8Array): { nonce: Buffer; proof: Buffer } | undefined {
  if (datagram.length !== UDP_PROOF_BYTES) return undefined;
  const bytes = Buffer.from(datagram.buffer, datagram.byteOffset, datagram.length);
  if (!bytes.subarray(0, UDP_MAGIC.length).equals(UDP_MAGIC) || bytes[UDP_MAGIC.length] !== UDP_PROOF) return undefined;
  const start = UDP_MAGIC.length + 1;
  return {
    nonce: Buffer.from(bytes.subarray(start, start + NONCE_BYTES)),
    proof: Buffer.from(bytes.subarray(start + NONCE_BYTES)),
  };
}
