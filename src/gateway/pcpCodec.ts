/**
 * PCP (RFC 6887) MAP and ANNOUNCE messages, pure. Addresses are 16 bytes (IPv4 as
 * IPv4-mapped IPv6). Requests are 24 bytes of header plus 36 for MAP; responses the same.
 */
import { PortholeError } from '../errors/index.js';
import type { Transport } from '../net/index.js';
import { formatIp, type IpAddress, parseIp, unmapIpv4 } from '../net/index.js';

/** PCP's version. A NAT-PMP-only server answers it with NAT-PMP "unsupported version". */
export const PCP_VERSION = 2;
export const PCP_OP_ANNOUNCE = 0;
export const PCP_OP_MAP = 1;
const RESPONSE_BIT = 0x80;
const HEADER_BYTES = 24;
const MAP_BYTES = 36;
/**
 * PREFER_FAILURE (RFC 6887 section 13.2): grant the suggested external port or fail, never
 * another. Its code is in the mandatory-to-process range: a server that does not know it answers
 * UNSUPP_OPTION instead of ignoring it.
 */
export const PCP_OPTION_PREFER_FAILURE = 2;
/** An option's header (code, reserved, length); PREFER_FAILURE has no data. */
const OPTION_HEADER_BYTES = 4;
/** Largest PCP message (RFC 6887 section 7). */
export const PCP_MAX_BYTES = 1100;
/** IANA protocol numbers. */
const PROTOCOL_NUMBER: Record<Transport, number> = { tcp: 6, udp: 17 };

/** Result codes (RFC 6887 section 7.4). */
export const PCP_RESULTS: Readonly<Record<number, string>> = {
  0: 'SUCCESS',
  1: 'UNSUPP_VERSION',
  2: 'NOT_AUTHORIZED',
  3: 'MALFORMED_REQUEST',
  4: 'UNSUPP_OPCODE',
  5: 'UNSUPP_OPTION',
  6: 'MALFORMED_OPTION',
  7: 'NETWORK_FAILURE',
  8: 'NO_RESOURCES',
  9: 'UNSUPP_PROTOCOL',
  10: 'USER_EX_QUOTA',
  11: 'CANNOT_PROVIDE_EXTERNAL',
  12: 'ADDRESS_MISMATCH',
  13: 'EXCESSIVE_REMOTE_PEERS',
};

/** A MAP request or response body. */
export interface PcpMap {
  /** 12 bytes, chosen by the client and echoed by the server. */
  readonly nonce: Uint8Array;
  readonly protocol: Transport;
  readonly internalPort: number;
  readonly externalPort: number;
  readonly externalIp: string;
}

/** A decoded PCP response. */
export interface PcpResponse {
  readonly opcode: number;
  readonly result: number;
  readonly lifetime: number;
  readonly epoch: number;
  readonly map?: PcpMap;
}

function address16(address: string): Uint8Array {
  const parsed = parseIp(address);
  if (parsed.family === 6) return parsed.bytes;
  const mapped = new Uint8Array(16);
  mapped[10] = 0xff;
  mapped[11] = 0xff;
  mapped.set(parsed.bytes, 12);
  return mapped;
}

function readAddress(bytes: Uint8Array): string {
  const address: IpAddress = { family: 6, bytes: bytes.slice(0, 16) };
  return formatIp(unmapIpv4(address) ?? address);
}

function header(
  opcode: number,
  lifetime: number,
  clientIp: string,
  bodyBytes: number,
): { bytes: Uint8Array; view: DataView } {
  const bytes = new Uint8Array(HEADER_BYTES + bodyBytes);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, PCP_VERSION);
  view.setUint8(1, opcode);
  view.setUint32(4, lifetime);
  bytes.set(address16(clientIp), 8);
  return { bytes, view };
}

/** An ANNOUNCE request (lifetime 0): asks the server for its epoch, proving it speaks PCP. */
export function encodePcpAnnounce(clientIp: string): Uint8Array {
  return header(PCP_OP_ANNOUNCE, 0, clientIp, 0).bytes;
}

/** Options of a MAP request. */
export interface PcpMapOptions {
  /** Ask for PREFER_FAILURE: the suggested external port, or a refusal (never a search for another). */
  readonly preferFailure?: boolean;
}

/** A MAP request. Lifetime 0 deletes the mapping with this nonce. */
export function encodePcpMap(clientIp: string, lifetime: number, map: PcpMap, options: PcpMapOptions = {}): Uint8Array {
  const extra = options.preferFailure ? OPTION_HEADER_BYTES : 0;
  const { bytes, view } = header(PCP_OP_MAP, lifetime, clientIp, MAP_BYTES + extra);
  if (options.preferFailure) view.setUint8(HEADER_BYTES + MAP_BYTES, PCP_OPTION_PREFER_FAILURE);
  if (map.nonce.length !== 12) throw new RangeError('a PCP nonce is 12 bytes');
  bytes.set(map.nonce, HEADER_BYTES);
  view.setUint8(HEADER_BYTES + 12, PROTOCOL_NUMBER[map.protocol]);
  view.setUint16(HEADER_BYTES + 16, map.internalPort);
  view.setUint16(HEADER_BYTES + 18, map.externalPort);
  bytes.set(address16(map.externalIp), HEADER_BYTES + 20);
  return bytes;
}

function malformed(detail: string): PortholeError {
  return new PortholeError('E_MALFORMED_PACKET', { detail: `PCP: ${detail}` });
}

/** Decodes a PCP response; throws E_MALFORMED_PACKET for anything that is not one. */
export function decodePcpResponse(bytes: Uint8Array): PcpResponse {
  if (bytes.length < HEADER_BYTES) throw malformed(`${bytes.length} bytes is shorter than the header`);
  if (bytes.length > PCP_MAX_BYTES || bytes.length % 4 !== 0) throw malformed(`length ${bytes.length}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint8(0) !== PCP_VERSION) throw malformed(`version ${view.getUint8(0)}`);
  const rOpcode = view.getUint8(1);
  if ((rOpcode & RESPONSE_BIT) === 0) throw malformed('a request, not a response');
  const opcode = rOpcode & 0x7f;
  const response = { opcode, result: view.getUint8(3), lifetime: view.getUint32(4), epoch: view.getUint32(8) };
  if (opcode !== PCP_OP_MAP) return response;
  if (bytes.length < HEADER_BYTES + MAP_BYTES) {
    // Error responses may omit the body (RFC 6887 section 7.2 lets servers copy what they can).
    if (response.result !== 0) return response;
    throw malformed('MAP response without its body');
  }
  const body = HEADER_BYTES;
  const number = view.getUint8(body + 12);
  const protocol: Transport | undefined = number === 6 ? 'tcp' : number === 17 ? 'udp' : undefined;
  if (!protocol) throw malformed(`protocol number ${number}`);
  return {
    ...response,
    map: {
      nonce: bytes.slice(body, body + 12),
      protocol,
      internalPort: view.getUint16(body + 16),
      externalPort: view.getUint16(body + 18),
      externalIp: readAddress(bytes.subarray(body + 20, body + 36)),
    },
  };
}
