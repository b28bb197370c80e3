/**
 * Fuzz target: the egress handshake (src/egress/bannerCodec.ts): the listener's readers of a
 * hello line, a UDP hello and a browser's GET head, and the client's check of an answer line.
 * The first input byte picks the reader; the rest is what came off the socket (latin1, as the
 * listener and the sweep read it).
 */
import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import {
  checkEgressAnswer,
  decodeEgressHello,
  decodeEgressUdpHello,
  egressHttpAnswer,
  encodeEgressAnswer,
  encodeEgressHello,
  encodeEgressUdpHello,
  MAX_EGRESS_LINE,
} from '../../src/egress/bannerCodec.js';
import { type FuzzCase, type FuzzTarget, utf8 } from './runner.js';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
/** The port and nonce the client under test sent; answers are checked against them. */
const PORT = 7001;
const NONCE = '0123456789abcdef0123456789abcdef';

type Reader = 'hello' | 'udp-hello' | 'answer' | 'http';
const READERS: readonly Reader[] = ['hello', 'udp-hello', 'answer', 'http'];

function join(reader: Reader, body: string | Uint8Array): Uint8Array {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'latin1') : body;
  return new Uint8Array([READERS.indexOf(reader), ...bytes]);
}

const port = fc.integer({ min: 1, max: 65535 });
const nonce = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((bytes) => Buffer.from(bytes).toString('hex'));

const valid: fc.Arbitrary<FuzzCase<unknown>> = fc.oneof(
  fc
    .record({ port, nonce })
    .map((hello) => ({ bytes: join('hello', encodeEgressHello(hello.port, hello.nonce)), expected: hello })),
  fc
    .record({ port, nonce })
    .map((hello) => ({ bytes: join('udp-hello', encodeEgressUdpHello(hello.port, hello.nonce)), expected: hello })),
  fc.constant({ bytes: join('answer', encodeEgressAnswer(privateKey, PORT, NONCE)), expected: 'signed' }),
  fc.record({ port, nonce }).map((probe) => ({
    bytes: join('http', `GET /probe?port=${probe.port}&nonce=${probe.nonce} HTTP/1.1\r\nHost: x\r\n\r\n`),
    expected: true,
  })),
);

/** The target. */
export const target: FuzzTarget<unknown> = {
  name: 'egressBanner',
  decoder: 'decodeEgressHello, decodeEgressUdpHello, checkEgressAnswer, egressHttpAnswer (src/egress/bannerCodec.ts)',
  rejectCodes: [],
  seeds: [
    join('hello', encodeEgressHello(443, NONCE)),
    join('udp-hello', encodeEgressUdpHello(5060, NONCE)),
    join('answer', encodeEgressAnswer(privateKey, PORT, NONCE)),
    join('http', `GET /probe?port=8443&nonce=${NONCE} HTTP/1.1\r\nHost: 203.0.113.5:8443\r\nOrigin: http://x\r\n\r\n`),
    // What a middlebox that accepts every SYN says instead: an SSH banner, an HTTP error.
    join('answer', 'SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n'),
    join('answer', utf8('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n')),
  ],
  valid,
  maxBytes: MAX_EGRESS_LINE * 4,
  decode: (bytes) => {
    const reader = READERS[(bytes[0] ?? 0) % READERS.length];
    const body = bytes.subarray(1);
    const text = Buffer.from(body).toString('latin1');
    switch (reader) {
      case 'hello':
        return decodeEgressHello(text);
      case 'udp-hello':
        return decodeEgressUdpHello(body);
      case 'answer':
        return checkEgressAnswer(text, PORT, NONCE, publicKey);
      default:
        return egressHttpAnswer(privateKey, text) === undefined ? undefined : true;
    }
  },
};
