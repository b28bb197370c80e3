/** Fuzz target: STUN messages (decodeStunMessage, src/nat/stunCodec.ts), as the STUN socket and responder hand them over. */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import {
  BINDING_ERROR,
  BINDING_REQUEST,
  BINDING_SUCCESS,
  decodeStunMessage,
  encodeStunMessage,
  MAX_STUN_BYTES,
  type StunAddress,
  type StunMessage,
} from '../../src/nat/stunCodec.js';
import { formatIp, parseIp } from '../../src/net/address.js';
import type { FuzzCase, FuzzTarget } from './runner.js';

const address: fc.Arbitrary<StunAddress> = fc
  .record({ address: fc.oneof(fc.ipV4(), fc.ipV6()), port: fc.integer({ min: 0, max: 0xffff }) })
  .map(({ address, port }) => ({ address: formatIp(parseIp(address)), port }));

const valid: fc.Arbitrary<FuzzCase<StunMessage>> = fc
  .record(
    {
      type: fc.constantFrom(BINDING_REQUEST, BINDING_SUCCESS, BINDING_ERROR),
      transactionId: fc.uint8Array({ minLength: 12, maxLength: 12 }),
      mappedAddress: address,
      xorMappedAddress: address,
      responseOrigin: address,
      otherAddress: address,
      changeRequest: fc.record({ changeIp: fc.boolean(), changePort: fc.boolean() }),
      software: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 100 }),
      fingerprint: fc.boolean(),
    },
    { requiredKeys: ['type', 'transactionId', 'fingerprint'] },
  )
  .map((message) => ({ bytes: encodeStunMessage(message), expected: message as StunMessage }));

/** The target. */
export const target: FuzzTarget<StunMessage> = {
  name: 'stun',
  decoder: 'decodeStunMessage (src/nat/stunCodec.ts)',
  rejectCodes: ['E_MALFORMED_PACKET'],
  seeds: [
    // A real coturn 4.6.1 Binding success response captured in the lab.
    Buffer.from(
      readFileSync(new URL('../fixtures/stun/coturn-4.6.1-binding-response.hex', import.meta.url), 'utf8').trim(),
      'hex',
    ),
    encodeStunMessage({ type: BINDING_REQUEST, transactionId: new Uint8Array(12).fill(1), fingerprint: false }),
    encodeStunMessage({
      type: BINDING_REQUEST,
      transactionId: new Uint8Array(12).fill(2),
      changeRequest: { changeIp: true, changePort: true },
      fingerprint: false,
    }),
  ],
  valid,
  maxBytes: MAX_STUN_BYTES + 16,
  decode: (bytes) => decodeStunMessage(bytes),
  same: (decoded, expected) =>
    decoded !== undefined &&
    decoded.type === expected.type &&
    Buffer.from(decoded.transactionId).equals(Buffer.from(expected.transactionId)) &&
    JSON.stringify([
      decoded.mappedAddress,
      decoded.xorMappedAddress,
      decoded.responseOrigin,
      decoded.otherAddress,
      decoded.changeRequest,
      decoded.software,
      decoded.fingerprint,
    ]) ===
      JSON.stringify([
        expected.mappedAddress,
        expected.xorMappedAddress,
        expected.responseOrigin,
        expected.otherAddress,
        expected.changeRequest,
        expected.software,
        expected.fingerprint,
      ]),
};
