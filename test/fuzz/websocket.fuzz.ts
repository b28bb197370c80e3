/**
 * Fuzz target: SSH-over-WebSocket (src/relay/wsCodec.ts): the opening handshake's HTTP head
 * (decodeHttpHead, upgradeKeyOf) and the frames after it (decodeWsFrame, read one after the
 * other as wsStream.ts does), as the relay and the client read them from a socket.
 */
import fc from 'fast-check';
import {
  decodeHttpHead,
  decodeWsFrame,
  encodeWsFrame,
  encodeWsUpgradeRequest,
  encodeWsUpgradeResponse,
  MAX_WS_HANDSHAKE,
  upgradeKeyOf,
  type WsOpcode,
} from '../../src/relay/wsCodec.js';
import { type FuzzCase, type FuzzTarget, utf8 } from './runner.js';

/** What is read: the frames (payload in hex) and the bytes left over, or the head and its key. */
type Read =
  | { frames: { fin: boolean; opcode: WsOpcode; masked: boolean; payload: string }[]; rest: number }
  | { startLine: string; key: string | undefined; length: number }
  | undefined;

/** Input: the first byte says frames (even) or a handshake head (odd), the rest is the stream. */
function read(bytes: Uint8Array): Read {
  const stream = bytes.subarray(1);
  if ((bytes[0] ?? 0) % 2 === 1) {
    const head = decodeHttpHead(stream);
    return head && { startLine: head.startLine, key: upgradeKeyOf(head), length: head.length };
  }
  const frames: { fin: boolean; opcode: WsOpcode; masked: boolean; payload: string }[] = [];
  let rest = stream;
  for (;;) {
    const decoded = decodeWsFrame(rest);
    if (!decoded) break;
    const { fin, opcode, masked, payload } = decoded.frame;
    frames.push({ fin, opcode, masked, payload: payload.toString('hex') });
    rest = rest.subarray(decoded.length);
  }
  return { frames, rest: rest.length };
}

const frame = fc
  .record({
    opcode: fc.constantFrom<WsOpcode>('binary', 'binary', 'text', 'continuation', 'ping', 'pong', 'close'),
    payload: fc.oneof(fc.uint8Array({ maxLength: 125 }), fc.uint8Array({ minLength: 126, maxLength: 70_000 })),
    mask: fc.option(fc.uint8Array({ minLength: 4, maxLength: 4 }), { nil: undefined }),
    fin: fc.boolean(),
  })
  // Control frames carry at most 125 bytes (RFC 6455 5.5).
  .filter(({ opcode, payload }) => ['binary', 'text', 'continuation'].includes(opcode) || payload.length <= 125);

const valid: fc.Arbitrary<FuzzCase<Read>> = fc.oneof(
  fc.array(frame, { maxLength: 4 }).map((frames) => ({
    bytes: new Uint8Array([0, ...Buffer.concat(frames.map((f) => encodeWsFrame(f.opcode, f.payload, f.mask, f.fin)))]),
    expected: {
      frames: frames.map((f) => ({
        fin: f.fin,
        opcode: f.opcode,
        masked: f.mask !== undefined,
        payload: Buffer.from(f.payload).toString('hex'),
      })),
      rest: 0,
    },
  })),
  fc.record({ key: fc.uint8Array({ minLength: 16, maxLength: 16 }), host: fc.domain() }).map(({ key, host }) => {
    const text = encodeWsUpgradeRequest(host, Buffer.from(key).toString('base64'));
    return {
      bytes: new Uint8Array([1, ...utf8(text)]),
      expected: {
        startLine: 'GET /porthole-ssh HTTP/1.1',
        key: Buffer.from(key).toString('base64'),
        length: text.length,
      },
    };
  }),
);

/** The target. */
export const target: FuzzTarget<Read> = {
  name: 'websocket',
  decoder: 'decodeHttpHead, upgradeKeyOf, decodeWsFrame (src/relay/wsCodec.ts)',
  rejectCodes: ['E_RELAY_MALFORMED'],
  seeds: [
    // RFC 6455's own examples (5.7): "Hello" unmasked and masked, a ping, a 256-byte binary frame.
    new Uint8Array([0, 0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]),
    new Uint8Array([0, 0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]),
    new Uint8Array([0, 0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]),
    new Uint8Array([0, 0x82, 0x7e, 0x01, 0x00, ...new Uint8Array(256)]),
    new Uint8Array([0, 0x82, 0x7f, 0, 0, 0, 0, 0, 0x01, 0, 0, ...new Uint8Array(64)]),
    new Uint8Array([1, ...utf8(encodeWsUpgradeRequest('relay.example.test:443', 'dGhlIHNhbXBsZSBub25jZQ=='))]),
    new Uint8Array([1, ...utf8(encodeWsUpgradeResponse('dGhlIHNhbXBsZSBub25jZQ=='))]),
  ],
  valid,
  maxBytes: MAX_WS_HANDSHAKE + 64,
  decode: read,
};
