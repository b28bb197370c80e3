/**
 * NAT-PMP (RFC 6886) messages, pure. Requests are 2 or 12 bytes; responses 12 or 16.
 * Layout: version 0, opcode (response = 128 + request), result code, seconds since epoch.
 */
import { PortholeError } from '../errors/index.js';
import type { Transport } from '../net/index.js';

/** NAT-PMP's version byte. */
export const NATPMP_VERSION = 0;
const OP_EXTERNAL_ADDRESS = 0;
const OP_MAP_UDP = 1;
const OP_MAP_TCP = 2;
const RESPONSE = 128;

/** Result codes (RFC 6886 section 3.5). */
export const NATPMP_RESULTS: Readonly<Record<number, string>> = {
  0: 'success',
  1: 'unsupported version',
  2: 'not authorized or refused',
  3: 'network failure',
  4: 'out of resources',
  5: 'unsupported opcode',
};

/** A decoded NAT-PMP response. */
export type NatpmpResponse =
  | { readonly kind: 'external-address'; readonly result: number; readonly epoch: number; readonly externalIp: string }
  | {
      readonly kind: 'map';
      readonly protocol: Transport;
      readonly result: number;
      readonly epoch: number;
      readonly internalPort: number;
      readonly externalPort: number;
      readonly lifetime: number;
    }
  /** A response with a non-zero result to an opcode we could not read further (e.g. unsupported version). */
  | { readonly kind: 'error'; readonly opcode: number; readonly result: number; readonly epoch: number };

/** The external address request. */
export function encodeNatpmpExternalAddressRequest(): Uint8Array {
  return Uint8Array.of(NATPMP_VERSION, OP_EXTERNAL_ADDRESS);
}

/** A mapping request; lifetime 0 with external port 0 deletes the mappings of the internal port. */
export function encodeNatpmpMapRequest(
  protocol: Transport,
  internalPort: number,
  externalPort: number,
  lifetime: number,
): Uint8Array {
  const bytes = new Uint8Array(12);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, NATPMP_VERSION);
  view.setUint8(1, protocol === 'udp' ? OP_MAP_UDP : OP_MAP_TCP);
  view.setUint16(4, internalPort);
  view.setUint16(6, externalPort);
  view.setUint32(8, lifetime);
  return bytes;
}

function malformed(detail: string): PortholeError {
  return new PortholeError('E_MALFORMED_PACKET', { detail: `NAT-PMP: ${detail}` });
}

/** Decodes a NAT-PMP response; throws E_MALFORMED_PACKET for anything else. */
export function decodeNatpmpResponse(bytes: Uint8Array): NatpmpResponse {
  if (bytes.length < 8) throw malformed(`${bytes.length} bytes is too short`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint8(0) !== NATPMP_VERSION) throw malformed(`version ${view.getUint8(0)}`);
  const opcode = view.getUint8(1);
  if (opcode < RESPONSE) throw malformed(`opcode ${opcode} is a request`);
  const result = view.getUint16(2);
  const epoch = view.getUint32(4);
  const request = opcode - RESPONSE;
  if (result !== 0 && bytes.length < 12) return { kind: 'error', opcode: request, result, epoch };
  if (request === OP_EXTERNAL_ADDRESS) {
    if (bytes.length < 12) throw malformed('external address response shorter than 12 bytes');
    return { kind: 'external-address', result, epoch, externalIp: Array.from(bytes.subarray(8, 12)).join('.') };
  }
  if (request === OP_MAP_UDP || request === OP_MAP_TCP) {
    if (bytes.length < 16) throw malformed('map response shorter than 16 bytes');
    return {
      kind: 'map',
      protocol: request === OP_MAP_UDP ? 'udp' : 'tcp',
      result,
      epoch,
      internalPort: view.getUint16(8),
      externalPort: view.getUint16(10),
      lifetime: view.getUint32(12),
    };
  }
  return { kind: 'error', opcode: request, result, epoch };
}
