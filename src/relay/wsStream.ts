/**
 * A byte stream over a WebSocket connection whose handshake is done: writes become binary
 * frames (masked from the client, as RFC 6455 requires), binary frames become reads, pings
 * are answered, a close frame ends the stream. ssh2 runs on top as if it were a TCP socket.
 */
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { PortholeError } from '../errors/index.js';
import { decodeWsFrame, encodeWsFrame } from './wsCodec.js';

/** Which end of the WebSocket this stream is. */
export type WsRole = 'client' | 'server';

/** A Duplex of the payload bytes of a WebSocket connection. */
export class WsStream extends Duplex {
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  readonly remoteFamily: string | undefined;
  readonly #socket: Socket;
  readonly #role: WsRole;
  #pending: Buffer = Buffer.alloc(0);

  /** `head` holds bytes that arrived after the handshake, before this stream existed. */
  constructor(socket: Socket, role: WsRole, head: Buffer = Buffer.alloc(0)) {
    super();
    this.#socket = socket;
    this.#role = role;
    this.remoteAddress = socket.remoteAddress;
    this.remotePort = socket.remotePort;
    this.remoteFamily = socket.remoteFamily;
    socket.on('data', (chunk: Buffer) => this.#receive(chunk));
    socket.on('end', () => this.push(null));
    socket.on('error', (error) => this.destroy(error));
    socket.on('close', () => this.destroy());
    if (head.length > 0) queueMicrotask(() => this.#receive(head));
  }

  #frame(opcode: 'binary' | 'pong' | 'close', payload: Uint8Array): Buffer {
    return encodeWsFrame(opcode, payload, this.#role === 'client' ? randomBytes(4) : undefined);
  }

  #receive(chunk: Buffer): void {
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    try {
      for (;;) {
        const decoded = decodeWsFrame(this.#pending);
        if (!decoded) return;
        this.#pending = this.#pending.subarray(decoded.length);
        const { frame } = decoded;
        // RFC 6455 §5.1: a server closes on an unmasked client frame.
        if (this.#role === 'server' && !frame.masked)
          throw new PortholeError('E_RELAY_MALFORMED', { detail: 'an unmasked frame from a WebSocket client' });
        if (frame.opcode === 'binary' || frame.opcode === 'continuation' || frame.opcode === 'text') {
          if (!this.push(frame.payload)) this.#socket.pause();
        } else if (frame.opcode === 'ping') this.#socket.write(this.#frame('pong', frame.payload));
        else if (frame.opcode === 'close') {
          this.#socket.end(this.#frame('close', frame.payload.subarray(0, 2)));
          this.push(null);
          return;
        }
      }
    } catch (error) {
      this.destroy(error as Error);
    }
  }

  override _read(): void {
    this.#socket.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#socket.write(this.#frame('binary', chunk), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    // 1000: normal closure.
    this.#socket.end(this.#frame('close', Buffer.from([0x03, 0xe8])), () => callback());
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#socket.destroy();
    callback(error);
  }

  /** ssh2 calls this when asked for low latency. */
  setNoDelay(noDelay = true): this {
    this.#socket.setNoDelay(noDelay);
    return this;
  }
}
