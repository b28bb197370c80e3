/** Fuzz target: PCP responses (decodePcpResponse, src/gateway/pcpCodec.ts), as udpExchange hands them over. */
import fc from 'fast-check';
import {
  decodePcpResponse,
  PCP_MAX_BYTES,
  PCP_OP_ANNOUNCE,
  PCP_OP_MAP,
  type PcpResponse,
} from '../../src/gateway/pcpCodec.js';
import { formatIp, parseIp } from '../../src/net/address.js';
import { encodePcpResponse } from '../support/routerWire.js';
import { captures, type FuzzCase, type FuzzTarget } from './runner.js';

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u16 = fc.integer({ min: 0, max: 0xffff });

const valid: fc.Arbitrary<FuzzCase<PcpResponse>> = fc.oneof(
  fc
    .record({
      result: fc.nat(255),
      lifetime: u32,
      epoch: u32,
      nonce: fc.uint8Array({ minLength: 12, maxLength: 12 }),
      protocol: fc.constantFrom('tcp' as const, 'udp' as const),
      internalPort: u16,
      externalPort: u16,
      externalIp: fc.oneof(fc.ipV4(), fc.ipV6()),
    })
    .map(({ result, lifetime, epoch, ...map }) => {
      // The decoder prints addresses in canonical form: compare with that.
      const externalIp = formatIp(parseIp(map.externalIp));
      return {
        bytes: encodePcpResponse({ opcode: PCP_OP_MAP, result, lifetime, epoch, map }),
        expected: { opcode: PCP_OP_MAP, result, lifetime, epoch, map: { ...map, externalIp } },
      };
    }),
  fc.record({ result: fc.nat(255), lifetime: u32, epoch: u32 }).map((fields) => ({
    bytes: encodePcpResponse({ opcode: PCP_OP_ANNOUNCE, ...fields }),
    expected: { opcode: PCP_OP_ANNOUNCE, ...fields },
  })),
);

/** The target. */
export const target: FuzzTarget<PcpResponse> = {
  name: 'pcp',
  decoder: 'decodePcpResponse (src/gateway/pcpCodec.ts)',
  rejectCodes: ['E_MALFORMED_PACKET'],
  seeds: [
    // miniupnpd 2.3.1 in the lab: ANNOUNCE, a MAP, a delete (test/fixtures/gateway/).
    ...captures('miniupnpd-2.3.1-pcp-'),
    // An error answer without the MAP body (RFC 6887 section 7.2 lets a server copy only what it can).
    encodePcpResponse({ opcode: PCP_OP_MAP, result: 2, lifetime: 0, epoch: 5 }),
  ],
  valid,
  maxBytes: PCP_MAX_BYTES + 8,
  decode: (bytes) => decodePcpResponse(bytes),
};
