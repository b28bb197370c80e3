/**
 * Fuzz target: the proof-of-identity codec (src/probe/proofCodec.ts): the listener's readers of
 * a TCP probe line and a UDP probe, and the checker's readers of the answers, followed by the
 * constant-time proof check the checker runs on what it read. The first input byte picks the reader.
 */
import fc from 'fast-check';
import {
  decodeTcpProbe,
  decodeTcpProof,
  decodeUdpProbe,
  decodeUdpProof,
  encodeTcpProbe,
  encodeTcpProof,
  encodeUdpProbe,
  encodeUdpProof,
  MAX_UDP_PROBE_BYTES,
  proofMatches,
} from '../../src/probe/proofCodec.js';
import type { FuzzCase, FuzzTarget } from './runner.js';

type Reader = 'tcp-probe' | 'tcp-proof' | 'udp-probe' | 'udp-proof';
const READERS: readonly Reader[] = ['tcp-probe', 'tcp-proof', 'udp-probe', 'udp-proof'];
/** The checker's key and nonce: answers are checked against them. */
const KEY = Buffer.alloc(32, 9);
const NONCE = Buffer.alloc(16, 3);

function join(reader: Reader, body: string | Uint8Array): Uint8Array {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'latin1') : body;
  return new Uint8Array([READERS.indexOf(reader), ...bytes]);
}

const nonce = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((bytes) => Buffer.from(bytes));
const key = fc.uint8Array({ minLength: 32, maxLength: 32 });

const valid: fc.Arbitrary<FuzzCase<unknown>> = fc.oneof(
  nonce.map((n) => ({ bytes: join('tcp-probe', encodeTcpProbe(n)), expected: n })),
  fc.constant({ bytes: join('tcp-proof', encodeTcpProof(KEY, NONCE)), expected: true }),
  fc.constant({ bytes: join('tcp-proof', encodeTcpProof(undefined, NONCE)), expected: 'hello' }),
  nonce.map((n) => ({ bytes: join('udp-probe', encodeUdpProbe(n)), expected: n })),
  fc.constant({ bytes: join('udp-proof', encodeUdpProof(KEY, NONCE)), expected: true }),
  fc.tuple(key, nonce).map(([k, n]) => ({ bytes: join('udp-proof', encodeUdpProof(k, n)), expected: false })),
);

/** The target. */
export const target: FuzzTarget<unknown> = {
  name: 'proof',
  decoder: 'decodeTcpProbe, decodeTcpProof, decodeUdpProbe, decodeUdpProof, proofMatches (src/probe/proofCodec.ts)',
  rejectCodes: [],
  seeds: [
    join('tcp-probe', encodeTcpProbe(NONCE)),
    join('tcp-proof', encodeTcpProof(KEY, NONCE)),
    join('tcp-proof', 'PORTHOLE/1 HELLO\r\n'),
    join('udp-probe', encodeUdpProbe(NONCE)),
    join('udp-proof', encodeUdpProof(KEY, NONCE)),
  ],
  valid,
  maxBytes: MAX_UDP_PROBE_BYTES + 64,
  decode: (bytes) => {
    const reader = READERS[(bytes[0] ?? 0) % READERS.length];
    const body = bytes.subarray(1);
    const text = Buffer.from(body).toString('latin1');
    switch (reader) {
      case 'tcp-probe':
        return decodeTcpProbe(text);
      case 'tcp-proof': {
        const proof = decodeTcpProof(text);
        // As probe/tcp.ts does: a proof is checked against the key and nonce it should answer.
        return proof instanceof Buffer ? proofMatches(KEY, 'tcp', NONCE, proof) : proof;
      }
      case 'udp-probe':
        return decodeUdpProbe(body);
      default: {
        const answer = decodeUdpProof(body);
        return answer === undefined
          ? undefined
          : answer.nonce.equals(NONCE) && proofMatches(KEY, 'udp', NONCE, answer.proof);
      }
    }
  },
};
