/**
 * The egress handshake, pure. The client speaks first, naming the port it dialled and a nonce;
 * the porthole egress listener answers with both, signed (Ed25519) by the service's key:
 *
 *   client → "PORTHOLE-EGRESS/1 <port> <nonce: 32 hex>\n"
 *   server → "PORTHOLE-EGRESS/1 OK <port> <nonce> <signature: base64url>\n"
 *
 * One listener serves every port (an nftables DNAT brings them all to it), so the port comes
 * from the client. A middlebox that accepts every SYN cannot produce the nonce echo, and without
 * the service's private key it cannot produce the signature.
 */
import { type KeyObject, randomBytes, sign, verify } from 'node:crypto';

/** Lines longer than this are not ours. */
export const MAX_EGRESS_LINE = 256;
const HELLO = /^PORTHOLE-EGRESS\/1 (\d{1,5}) ([0-9a-f]{32})\r?\n$/;
const ANSWER = /^PORTHOLE-EGRESS\/1 OK (\d{1,5}) ([0-9a-f]{32}) ([A-Za-z0-9_-]{40,120})\r?\n$/;

/** A fresh nonce as hex. */
export function newEgressNonce(): string {
  return randomBytes(16).toString('hex');
}

function signedText(port: number, nonce: string): Buffer {
  return Buffer.from(`porthole-egress/1|${port}|${nonce}`);
}

/** The client's hello line. */
export function encodeEgressHello(port: number, nonce: string): string {
  return `PORTHOLE-EGRESS/1 ${port} ${nonce}\n`;
}

/** Reads a hello line; undefined when it is not one. */
export function decodeEgressHello(line: string): { port: number; nonce: string } | undefined {
  const match = HELLO.exec(line);
  const port = Number(match?.[1]);
  return match && port >= 1 && port <= 65535 ? { port, nonce: match[2] ?? '' } : undefined;
}

/** The listener's signed answer. */
export function encodeEgressAnswer(privateKey: KeyObject, port: number, nonce: string): string {
  const signature = sign(null, signedText(port, nonce), privateKey).toString('base64url');
  return `PORTHOLE-EGRESS/1 OK ${port} ${nonce} ${signature}\n`;
}

/** How an answer checks out. */
export type AnswerCheck =
  /** Our port and nonce came back, signed by the key we trust. */
  | 'signed'
  /** Our port and nonce came back; no key to check the signature against (--target mode). */
  | 'nonce'
  /** Something answered, but not the porthole egress handshake for this port and nonce. */
  | 'foreign';

/** Checks an answer line against what we sent (and the service's public key, when known). */
export function checkEgressAnswer(line: string, port: number, nonce: string, publicKey?: KeyObject): AnswerCheck {
  const match = ANSWER.exec(line);
  if (!match || Number(match[1]) !== port || match[2] !== nonce) return 'foreign';
  if (!publicKey) return 'nonce';
  return verify(null, signedText(port, nonce), publicKey, Buffer.from(match[3] ?? '', 'base64url'))
    ? 'signed'
    : 'foreign';
}

/**
 * UDP: the hello is padded to this size, so the signed answer (about 150 bytes) is never
 * larger than the request. A listener never answers a datagram with more bytes than it got.
 */
export const EGRESS_UDP_HELLO_SIZE = 192;

/** The client's UDP hello: the hello line, padded with `#` to EGRESS_UDP_HELLO_SIZE. */
export function encodeEgressUdpHello(port: number, nonce: string): Buffer {
  const line = encodeEgressHello(port, nonce);
  return Buffer.from(line.padEnd(EGRESS_UDP_HELLO_SIZE, '#'), 'latin1');
}

/** Reads a UDP hello (the hello line, then any padding); undefined when it is not one. */
export function decodeEgressUdpHello(datagram: Uint8Array): { port: number; nonce: string } | undefined {
  const text = Buffer.from(datagram.subarray(0, MAX_EGRESS_LINE)).toString('latin1');
  const end = text.indexOf('\n');
  return end < 0 ? undefined : decodeEgressHello(text.slice(0, end + 1));
}

/**
 * The browser's form of the handshake, for the /egress page: `GET /probe?port=N&nonce=HEX`
 * answered with JSON the page can read across origins. Returns the whole HTTP response for a
 * request head, or undefined when the head is not such a request.
 */
export function egressHttpAnswer(privateKey: KeyObject, head: string): string | undefined {
  const match = /^GET \/probe\?port=(\d{1,5})&nonce=([0-9a-f]{32}) HTTP\/1\.[01]\r?\n/.exec(head);
  const port = Number(match?.[1]);
  if (!match || port < 1 || port > 65535) return undefined;
  const nonce = match[2] ?? '';
  const signature = sign(null, signedText(port, nonce), privateKey).toString('base64url');
  const body = JSON.stringify({ protocol: 'porthole-egress/1', port, nonce, signature });
  return [
    'HTTP/1.1 200 OK',
    'Content-Type: application/json',
    'Access-Control-Allow-Origin: *',
    'Cache-Control: no-store',
    'Connection: close',
    `Content-Length: ${Buffer.byteLength(body)}`,
    '',
    body,
  ].join('\r\n');
}

/** The text a signature covers, for clients that verify it themselves (the web page). */
export function egressSignedText(port: number, nonce: string): string {
  return signedText(port, nonce).toString('latin1');
}
