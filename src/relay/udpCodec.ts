/**
 * porthole's UDP-over-SSH framing, pure. SSH (RFC 4254) carries only streams, so datagrams
 * travel inside one session channel running the subsystem `porthole-udp@porthole`, each framed
 * with its length and the visitor's address; only porthole's client and relay speak it.
 *
 * frame = u32 length of the rest | u8 type | body
 *   1 BIND     u16 port            client → relay: the public UDP port it wants (0 = any)
 *   2 BOUND    u16 port            relay → client: the port it bound
 *   3 REFUSED  utf-8 reason        relay → client: no port (not the tenant's, UDP off)
 *   4 DATAGRAM u8 4|6, address (4|16), u16 port, payload     either way, one per datagram
 */
import { isIP } from 'node:net';
import { PortholeError } from '../errors/index.js';
import { ipv6Bytes } from './proxyProtocol.js';

/** The subsystem name both ends agree on. */
export const UDP_SUBSYSTEM = 'porthole-udp@porthole';
/** The largest UDP payload (IPv4's 65507), plus header room: a bigger frame is malformed. */
export const MAX_UDP_FRAME = 65_507 + 32;

/** A message on the UDP channel. */
export type UdpMessage =
  | { readonly type: 'bind'; readonly port: number }
  | { readonly type: 'bound'; readonly port: number }
  | { readonly type: 'refused'; readonly reason: string }
  | { readonly type: 'datagram'; readonly address: string; readonly port: number; readonly payload: Buffer };

/** Raised for frames that break the format or its size cap: E_RELAY_MALFORMED. */
export class MalformedUdpFrame extends PortholeError {
  constructor(detail: string) {
    super('E_RELAY_MALFORMED', { detail: `UDP channel: ${detail}` });
  }

  /** Only this class's own errors (PortholeError's check would accept every PortholeError). */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return Function.prototype[Symbol.hasInstance].call(MalformedUdpFrame, value);
  }
}

function addressBytes(address: string): Buffer {
  const plain = address.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, '$1');
  if (isIP(plain) === 4) return Buffer.from([4, ...plain.split('.').map(Number)]);
  if (isIP(plain) !== 6) throw new MalformedUdpFrame(`not an IP address: ${address}`);
  return Buffer.concat([Buffer.from([6]), ipv6Bytes(plain)]);
}

/** Encodes one message as a frame. */
export function encodeUdpMessage(message: UdpMessage): Buffer {
  let body: Buffer;
  let type: number;
  switch (message.type) {
    case 'bind':
    case 'bound':
      type = message.type === 'bind' ? 1 : 2;
      body = Buffer.alloc(2);
      body.writeUInt16BE(message.port);
      break;
    case 'refused':
      type = 3;
      body = Buffer.from(message.reason, 'utf8');
      break;
    case 'datagram': {
      type = 4;
      const port = Buffer.alloc(2);
      port.writeUInt16BE(message.port);
      body = Buffer.concat([addressBytes(message.address), port, message.payload]);
      break;
    }
  }
  const head = Buffer.alloc(5);
  head.writeUInt32BE(body.length + 1);
  head[4] = type;
  return Buffer.concat([head, body]);
}

function decodeBody(type: number, body: Buffer): UdpMessage {
  if (type === 1 || type === 2) {
    if (body.length !== 2) throw new MalformedUdpFrame('bind/bound body is not 2 bytes');
    return { type: type === 1 ? 'bind' : 'bound', port: body.readUInt16BE(0) };
  }
  if (type === 3) return { type: 'refused', reason: body.toString('utf8') };
  if (type !== 4) throw new MalformedUdpFrame(`unknown frame type ${type}`);
  const family = body[0];
  const size = family === 4 ? 4 : family === 6 ? 16 : -1;
  if (size < 0 || body.length < 1 + size + 2) throw new MalformedUdpFrame('bad datagram address');
  const raw = body.subarray(1, 1 + size);
  const address =
    family === 4
      ? [...raw].join('.')
      : Array.from({ length: 8 }, (_, i) => raw.readUInt16BE(i * 2).toString(16)).join(':');
  return {
    type: 'datagram',
    address,
    port: body.readUInt16BE(1 + size),
    payload: Buffer.from(body.subarray(1 + size + 2)),
  };
}

/** An incremental decoder: feed chunks of the channel, get whole messages; throws MalformedUdpFrame. */
export class UdpFrameDecoder {
  #pending: Buffer = Buffer.alloc(0);

  /** Adds bytes; returns the messages they complete. */
  push(chunk: Uint8Array): UdpMessage[] {
    this.#pending = this.#pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.#pending, chunk]);
    const messages: UdpMessage[] = [];
    while (this.#pending.length >= 5) {
      const length = this.#pending.readUInt32BE(0);
      if (length < 1 || length > MAX_UDP_FRAME) throw new MalformedUdpFrame(`frame length ${length}`);
      if (this.#pending.length < 4 + length) break;
      messages.push(decodeBody(this.#pending[4] ?? 0, this.#pending.subarray(5, 4 + length)));
      this.#pending = this.#pending.subarray(4 + length);
    }
    return messages;
  }
}
