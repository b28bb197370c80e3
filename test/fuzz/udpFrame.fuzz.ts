/** Fuzz target: the relay's UDP channel frames (UdpFrameDecoder, src/relay/udpCodec.ts), fed in the chunks SSH delivers them in. */
import fc from 'fast-check';
import { formatIp, parseIp } from '../../src/net/address.js';
import { encodeUdpMessage, UdpFrameDecoder, type UdpMessage } from '../../src/relay/udpCodec.js';
import type { FuzzCase, FuzzTarget } from './runner.js';

/** The messages read (a datagram's payload in hex, its address in RFC 5952 text). */
type Read = { type: string; port?: number; reason?: string; address?: string; payload?: string }[];

function plain(message: UdpMessage): Read[number] {
  if (message.type === 'datagram') {
    return {
      type: 'datagram',
      address: formatIp(parseIp(message.address)),
      port: message.port,
      payload: message.payload.toString('hex'),
    };
  }
  return { ...message };
}

/** Input: the first byte is the chunk size SSH hands over (1-256), the rest the channel's bytes. */
function read(bytes: Uint8Array): Read {
  const chunk = (bytes[0] ?? 0) + 1;
  const decoder = new UdpFrameDecoder();
  const out: Read = [];
  for (let at = 1; at < bytes.length; at += chunk) out.push(...decoder.push(bytes.subarray(at, at + chunk)).map(plain));
  return out;
}

const message: fc.Arbitrary<UdpMessage> = fc.oneof(
  fc.record({ type: fc.constantFrom('bind' as const, 'bound' as const), port: fc.nat(0xffff) }),
  fc.record({ type: fc.constant('refused' as const), reason: fc.string({ maxLength: 60 }) }),
  fc.record({
    type: fc.constant('datagram' as const),
    address: fc.oneof(fc.ipV4(), fc.ipV6()).map((a) => formatIp(parseIp(a))),
    port: fc.nat(0xffff),
    payload: fc.uint8Array({ maxLength: 1500 }).map((b) => Buffer.from(b)),
  }),
);

const valid: fc.Arbitrary<FuzzCase<Read>> = fc
  .record({ chunk: fc.nat(255), messages: fc.array(message, { maxLength: 5 }) })
  .map(({ chunk, messages }) => ({
    bytes: new Uint8Array([chunk, ...Buffer.concat(messages.map(encodeUdpMessage))]),
    // A refusal's reason is UTF-8: a lone surrogate does not survive it.
    expected: messages.map((m) => plain(m.type === 'refused' ? { ...m, reason: Buffer.from(m.reason).toString() } : m)),
  }));

/** The target. */
export const target: FuzzTarget<Read> = {
  name: 'udpFrame',
  decoder: 'UdpFrameDecoder (src/relay/udpCodec.ts)',
  rejectCodes: ['E_RELAY_MALFORMED'],
  seeds: [
    new Uint8Array([255, ...encodeUdpMessage({ type: 'bind', port: 0 })]),
    new Uint8Array([
      3,
      ...encodeUdpMessage({ type: 'bound', port: 20001 }),
      ...encodeUdpMessage({ type: 'datagram', address: '198.51.100.7', port: 53000, payload: Buffer.from('ping') }),
      ...encodeUdpMessage({ type: 'datagram', address: '2001:db8::7', port: 53001, payload: Buffer.alloc(0) }),
    ]),
    new Uint8Array([0, ...encodeUdpMessage({ type: 'refused', reason: 'port 9 is not this tenant’s' })]),
  ],
  valid,
  maxBytes: 4096,
  decode: read,
};
