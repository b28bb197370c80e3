/**
 * The part of WebSocket (RFC 6455) that SSH-over-WebSocket needs, pure: the opening handshake
 * and binary frames. Clients mask every frame (RFC 6455 §5.3), servers never do. Fragmented
 * frames, text frames and extensions are not used by either end of porthole.
 */
import { createHash, randomBytes } from 'node:crypto';
import { PortholeError } from '../errors/index.js';

/** RFC 6455 §1.3: the GUID appended to the key for Sec-WebSocket-Accept. */
const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** One frame carries at most this much payload; a larger length is refused (memory cap). */
export const MAX_WS_PAYLOAD = 1 << 20;
/** The opening handshake's head is capped so a slow-loris client cannot grow our buffer. */
export const MAX_WS_HANDSHAKE = 8192;
/** The path porthole's relay answers WebSocket upgrades on. */
export const WS_PATH = '/porthole-ssh';

/** Opcodes porthole handles. */
export type WsOpcode = 'continuation' | 'text' | 'binary' | 'close' | 'ping' | 'pong';

const OPCODES: Record<number, WsOpcode> = {
  0: 'continuation',
  1: 'text',
  2: 'binary',
  8: 'close',
  9: 'ping',
  10: 'pong',
};
const OPCODE_VALUES: Record<WsOpcode, number> = {
  continuation: 0x0,
  text: 0x1,
  binary: 0x2,
  close: 0x8,
  ping: 0x9,
  pong: 0xa,
};

/** A decoded frame. */
export interface WsFrame {
  readonly fin: boolean;
  readonly opcode: WsOpcode;
  readonly masked: boolean;
  readonly payload: Buffer;
}

/** Raised for bytes that break RFC 6455 or porthole's limits: E_RELAY_MALFORMED. */
export class MalformedWsFrame extends PortholeError {
  constructor(detail: string) {
    super('E_RELAY_MALFORMED', { detail: `WebSocket: ${detail}` });
  }

  /** Only this class's own errors (PortholeError's check would accept every PortholeError). */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return Function.prototype[Symbol.hasInstance].call(MalformedWsFrame, value);
  }
}

/** Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455 §4.2.2). */
export function wsAcceptFor(key: string): string {
  return createHash('sha1').update(`${key}${WS_GUID}`).digest('base64');
}

/** A fresh Sec-WebSocket-Key: 16 random bytes, base64. */
export function newWsKey(): string {
  return randomBytes(16).toString('base64');
}

/** The client's upgrade request. */
export function encodeWsUpgradeRequest(host: string, key: string, path = WS_PATH): string {
  return [
    `GET ${path} HTTP/1.1`,
    `Host: ${host}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${key}`,
    'Sec-WebSocket-Version: 13',
    'Sec-WebSocket-Protocol: ssh',
    '',
    '',
  ].join('\r\n');
}

/** The server's 101 answer for an accepted key. */
export function encodeWsUpgradeResponse(key: string): string {
  return [
    'HTTP/1.1 101 Switching Protocols',
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Accept: ${wsAcceptFor(key)}`,
    'Sec-WebSocket-Protocol: ssh',
    '',
    '',
  ].join('\r\n');
}

/** An HTTP head: first line and lower-cased header fields. */
export interface HttpHead {
  readonly startLine: string;
  readonly headers: ReadonlyMap<string, string>;
  /** Bytes of the head including the blank line. */
  readonly length: number;
}

/** Reads an HTTP head from the start of `bytes`; undefined when incomplete. Throws above MAX_WS_HANDSHAKE. */
export function decodeHttpHead(bytes: Uint8Array): HttpHead | undefined {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const end = buffer.indexOf('\r\n\r\n', 0, 'latin1');
  if (end < 0) {
    if (buffer.length > MAX_WS_HANDSHAKE) throw new MalformedWsFrame('HTTP head too long');
    return undefined;
  }
  const [startLine = '', ...lines] = buffer.subarray(0, end).toString('latin1').split('\r\n');
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { startLine, headers, length: end + 4 };
}

/** The Sec-WebSocket-Key of a valid upgrade request, or undefined when the head is not one. */
export function upgradeKeyOf(head: HttpHead): string | undefined {
  if (!/^GET \S+ HTTP\/1\.1$/.test(head.startLine)) return undefined;
  if (head.headers.get('upgrade')?.toLowerCase() !== 'websocket') return undefined;
  if (head.headers.get('sec-websocket-version') !== '13') return undefined;
  const key = head.headers.get('sec-websocket-key');
  return key && Buffer.from(key, 'base64').length === 16 ? key : undefined;
}

/** Encodes one frame; `mask` is four bytes for a client, undefined for a server. */
export function encodeWsFrame(opcode: WsOpcode, payload: Uint8Array, mask?: Uint8Array, fin = true): Buffer {
  const length = payload.length;
  const lengthBytes = length < 126 ? 0 : length < 65536 ? 2 : 8;
  const head = Buffer.alloc(2 + lengthBytes + (mask ? 4 : 0));
  head[0] = (fin ? 0x80 : 0) | OPCODE_VALUES[opcode];
  head[1] = (mask ? 0x80 : 0) | (lengthBytes === 0 ? length : lengthBytes === 2 ? 126 : 127);
  if (lengthBytes === 2) head.writeUInt16BE(length, 2);
  if (lengthBytes === 8) head.writeBigUInt64BE(BigInt(length), 2);
  if (!mask) return Buffer.concat([head, payload]);
  Buffer.from(mask).copy(head, 2 + lengthBytes);
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i] = (body[i] ?? 0) ^ (mask[i & 3] ?? 0);
  return Buffer.concat([head, body]);
}

/**
 * Reads one frame from the start of `bytes`: the frame and its size, or undefined when more
 * bytes are needed. Throws MalformedWsFrame for reserved bits, unknown opcodes, an oversized
 * length, or a control frame over 125 bytes.
 */
export function decodeWsFrame(bytes: Uint8Array): { frame: WsFrame; length: number } | undefined {
  if (bytes.length < 2) return undefined;
  const first = bytes[0] ?? 0;
  const second = bytes[1] ?? 0;
  if (first & 0x70) throw new MalformedWsFrame('reserved bits set (no extension was negotiated)');
  const opcode = OPCODES[first & 0x0f];
  if (!opcode) throw new MalformedWsFrame(`unknown opcode ${first & 0x0f}`);
  const masked = (second & 0x80) !== 0;
  let length = second & 0x7f;
  let offset = 2;
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  if (length === 126) {
    if (view.length < 4) return undefined;
    length = view.readUInt16BE(2);
    offset = 4;
  } else if (length === 127) {
    if (view.length < 10) return undefined;
    const big = view.readBigUInt64BE(2);
    if (big > BigInt(MAX_WS_PAYLOAD)) throw new MalformedWsFrame('frame larger than 1 MiB');
    length = Number(big);
    offset = 10;
  }
  if (length > MAX_WS_PAYLOAD) throw new MalformedWsFrame('frame larger than 1 MiB');
  if (opcode !== 'binary' && opcode !== 'text' && opcode !== 'continuation' && length > 125) {
    throw new MalformedWsFrame('control frame over 125 bytes');
  }
  const maskStart = offset;
  if (masked) offset += 4;
  if (view.length < offset + length) return undefined;
  const payload = Buffer.from(view.subarray(offset, offset + length));
  if (masked) {
    for (let i = 0; i < payload.length; i++) payload[i] = (payload[i] ?? 0) ^ (view[maskStart + (i & 3)] ?? 0);
  }
  return { frame: { fin: (first & 0x80) !== 0, opcode, masked, payload }, length: offset + length };
}
