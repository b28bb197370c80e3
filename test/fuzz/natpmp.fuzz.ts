/** Fuzz target: NAT-PMP responses (decodeNatpmpResponse, src/gateway/natpmpCodec.ts), as udpExchange hands them over. */
import fc from 'fast-check';
import { decodeNatpmpResponse, type NatpmpResponse } from '../../src/gateway/natpmpCodec.js';
import {
  encodeNatpmpExternalAddressResponse,
  encodeNatpmpMapResponse,
  encodeNatpmpShortError,
} from '../support/routerWire.js';
import { captures, type FuzzCase, type FuzzTarget } from './runner.js';

const ipv4 = fc.ipV4();
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });

const valid: fc.Arbitrary<FuzzCase<NatpmpResponse>> = fc.oneof(
  fc.record({ result: u16, epoch: u32, externalIp: ipv4 }).map(({ result, epoch, externalIp }) => ({
    bytes: encodeNatpmpExternalAddressResponse(result, epoch, externalIp),
    expected: { kind: 'external-address' as const, result, epoch, externalIp },
  })),
  fc
    .record({
      protocol: fc.constantFrom('tcp' as const, 'udp' as const),
      result: u16,
      epoch: u32,
      internalPort: u16,
      externalPort: u16,
      lifetime: u32,
    })
    .map((fields) => ({ bytes: encodeNatpmpMapResponse(fields), expected: { kind: 'map' as const, ...fields } })),
  // An 8-byte answer with a non-zero result: unsupported version, or an opcode the server does not know.
  fc
    .record({ opcode: fc.integer({ min: 0, max: 127 }), result: fc.integer({ min: 1, max: 0xffff }), epoch: u32 })
    .map(({ opcode, result, epoch }) => ({
      bytes: encodeNatpmpShortError(opcode, result, epoch),
      expected: { kind: 'error' as const, opcode, result, epoch },
    })),
);

/** The target. */
export const target: FuzzTarget<NatpmpResponse> = {
  name: 'natpmp',
  decoder: 'decodeNatpmpResponse (src/gateway/natpmpCodec.ts)',
  rejectCodes: ['E_MALFORMED_PACKET'],
  seeds: [
    // miniupnpd 2.3.1 in the lab: external address, a map, a delete (test/fixtures/gateway/).
    ...captures('miniupnpd-2.3.1-natpmp-'),
    // A NAT-PMP-only server's 8-byte "unsupported version" to a PCP request.
    Uint8Array.of(0, 129, 0, 1, 0, 0, 0, 0),
  ],
  valid,
  maxBytes: 64,
  decode: (bytes) => decodeNatpmpResponse(bytes),
};
