/**
 * Fuzz target: the answer to a signed RFC 2136 UPDATE (judgeUpdateAnswer, src/dns/rfc2136.ts:
 * decodeMessage in updateCodec.ts, TSIG verification in tsig.ts, names in dnsName.ts), as the
 * UDP exchange hands a datagram over. A forged or mangled MAC, key, time or record must be a
 * coded rejection (the datagram is ignored), an RCODE or TSIG error a coded verdict.
 */
import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { judgeUpdateAnswer } from '../../src/dns/rfc2136.js';
import { signResponse, TSIG_ERROR, type TsigAlgorithm, type TsigKey } from '../../src/dns/tsig.js';
import { encodeUpdate, OPCODE_UPDATE } from '../../src/dns/updateCodec.js';
import { PortholeError } from '../../src/errors/index.js';
import type { FuzzCase, FuzzTarget } from './runner.js';

/** A captured exchange: the server's key, the request's MAC, when it was signed, and the answer. */
interface Capture {
  readonly key: { name: string; algorithm: TsigAlgorithm; secret: string };
  readonly requestMac: string;
  readonly nowSeconds: number;
  readonly answer: string;
}

/** The real answers in test/fixtures/dns/ (<daemon>-<version>-update-<rcode>.json), in name order. */
export function capturedUpdateAnswers(): (Capture & { file: string })[] {
  const folder = new URL('../fixtures/dns/', import.meta.url);
  return readdirSync(folder)
    .filter((file) => /-update-.*\.json$/.test(file))
    .sort()
    .map((file) => ({ file, ...(JSON.parse(readFileSync(new URL(file, folder), 'utf8')) as Capture) }));
}

const KEY: TsigKey = { name: 'porthole-fuzz', algorithm: 'hmac-sha256', secret: Buffer.alloc(32, 7) };
const REQUEST_MAC = Buffer.alloc(32, 9);
const NOW = 1_790_000_000;

/**
 * Input: one byte picks the exchange (0: our key, n: the n-th capture), then the answer. The
 * datagram's own id is the request's, so every input reaches the signature check.
 */
const CAPTURES = capturedUpdateAnswers();
function context(bytes: Uint8Array) {
  const capture = bytes.length > 0 ? CAPTURES[((bytes[0] ?? 0) % (CAPTURES.length + 1)) - 1] : undefined;
  const message = Buffer.from(bytes.subarray(1));
  return {
    message,
    key: capture
      ? { name: capture.key.name, algorithm: capture.key.algorithm, secret: Buffer.from(capture.key.secret, 'base64') }
      : KEY,
    requestMac: capture ? Buffer.from(capture.requestMac, 'hex') : REQUEST_MAC,
    nowSeconds: capture?.nowSeconds ?? NOW,
  };
}

/** What porthole makes of an answer: 'ok', or the code of the verdict it returns. */
type Verdict = 'ok' | string;

function answer(id: number, zone: string, rcode: number): Buffer {
  const unsigned = encodeUpdate({
    id,
    zone,
    changes: [{ op: 'add', name: `host.${zone}`, type: 'A', ttl: 60, address: '203.0.113.7' }],
  });
  // The server echoes the request with QR set and its RCODE (BIND and Knot keep the sections).
  unsigned.writeUInt16BE(0x8000 | (OPCODE_UPDATE << 11) | rcode, 2);
  return unsigned;
}

const RCODE_CODES: Record<number, string> = {
  1: 'E_DNS_FORMERR',
  2: 'E_DNS_SERVFAIL',
  3: 'E_DNS_NXDOMAIN',
  4: 'E_DNS_NOTIMP',
  5: 'E_DNS_REFUSED',
  6: 'E_DNS_YXDOMAIN',
  7: 'E_DNS_YXRRSET',
  8: 'E_DNS_NXRRSET',
  9: 'E_DNS_NOTAUTH',
  10: 'E_DNS_NOTZONE',
};

const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,14}[a-z0-9])?$/);
const valid: fc.Arbitrary<FuzzCase<Verdict>> = fc
  .record({
    id: fc.integer({ min: 0, max: 0xffff }),
    zone: fc.array(label, { minLength: 1, maxLength: 3 }).map((labels) => labels.join('.')),
    rcode: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 15 })),
    tsigError: fc.constantFrom(0, 0, 0, TSIG_ERROR.BADSIG, TSIG_ERROR.BADKEY, TSIG_ERROR.BADTIME),
    skew: fc.integer({ min: -300, max: 300 }),
  })
  .map(({ id, zone, rcode, tsigError, skew }) => {
    const other = tsigError === TSIG_ERROR.BADTIME ? Buffer.from([0, 0, 0x6a, 0xb0, 0x00, 0x00]) : undefined;
    const bytes = signResponse(answer(id, zone, rcode), KEY, REQUEST_MAC, {
      timeSigned: NOW + skew,
      ...(tsigError ? { error: tsigError } : {}),
      ...(other ? { other } : {}),
    });
    const expected =
      tsigError === TSIG_ERROR.BADSIG
        ? 'E_DNS_BADSIG'
        : tsigError === TSIG_ERROR.BADKEY
          ? 'E_DNS_BADKEY'
          : tsigError === TSIG_ERROR.BADTIME
            ? 'E_DNS_BADTIME'
            : rcode === 0
              ? 'ok'
              : (RCODE_CODES[rcode] ?? 'E_DNS_RCODE');
    return { bytes: new Uint8Array([0, ...bytes]), expected };
  });

const seed = (rcode: number, options: { error?: number; skew?: number } = {}) =>
  new Uint8Array([
    0,
    ...signResponse(answer(0x1234, 'example.test', rcode), KEY, REQUEST_MAC, {
      timeSigned: NOW + (options.skew ?? 0),
      ...(options.error ? { error: options.error } : {}),
    }),
  ]);

/** The target. */
export const target: FuzzTarget<Verdict> = {
  name: 'dnsUpdate',
  decoder:
    'judgeUpdateAnswer (src/dns/rfc2136.ts): decodeMessage (src/dns/updateCodec.ts), verifyResponse (src/dns/tsig.ts), readName (src/dns/dnsName.ts)',
  rejectCodes: ['E_MALFORMED_PACKET', 'E_DNS_RESPONSE_SIGNATURE', 'E_DNS_BADTIME'],
  seeds: [
    // Real BIND 9 and Knot answers to porthole's UPDATE, captured in the lab (test/fixtures/dns/).
    ...CAPTURES.map((capture, index) => new Uint8Array([index + 1, ...Buffer.from(capture.answer, 'hex')])),
    seed(0),
    seed(5),
    seed(0, { error: TSIG_ERROR.BADSIG }),
    seed(0, { error: TSIG_ERROR.BADTIME }),
    seed(0, { skew: 1000 }),
  ],
  valid,
  maxBytes: 4096 + 64,
  decode: (bytes) => {
    const { message, key, requestMac, nowSeconds } = context(bytes);
    const id = message.length >= 2 ? message.readUInt16BE(0) : 0;
    const verdict = judgeUpdateAnswer(message, { id, key, requestMac, nowSeconds, where: 'fuzz' });
    if (verdict === undefined) return undefined;
    return verdict === true ? 'ok' : verdict instanceof PortholeError ? verdict.code : String(verdict);
  },
};
