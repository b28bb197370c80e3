/**
 * Requests that well-known UDP services answer, as nmap's nmap-payloads does: a silent UDP port
 * says nothing, but a DNS server answers a query, a STUN server a Binding request, a SIP server
 * OPTIONS, an NTP server a client packet. Pure: each entry builds its datagram and recognises
 * its answer; no sockets here.
 */
import { randomBytes } from 'node:crypto';

/** One service's probe. */
export interface UdpPayload {
  /** The protocol's name, for the result's reason (`udp-response:dns`). */
  readonly service: string;
  /** A fresh request (random ids, so a late answer to another probe is not taken for ours). */
  build(): Uint8Array;
  /** Whether `answer` is this protocol's answer to `request`. */
  matches(request: Uint8Array, answer: Uint8Array): boolean;
}

/** STUN's magic cookie (RFC 8489 section 5). */
const STUN_COOKIE = 0x2112a442;

/** A DNS query for the root's NS records: every DNS server answers it (even REFUSED is an answer). */
export const DNS_PAYLOAD: UdpPayload = {
  service: 'dns',
  build() {
    const id = randomBytes(2);
    // Header: id, flags 0x0100 (RD), QDCOUNT 1; question: root name, type NS (2), class IN (1).
    return Uint8Array.from([...id, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1]);
  },
  matches: (request, answer) =>
    answer.length >= 12 && answer[0] === request[0] && answer[1] === request[1] && ((answer[2] ?? 0) & 0x80) !== 0,
};

/** A STUN Binding request (RFC 8489): any STUN server answers with a success or error response. */
export const STUN_PAYLOAD: UdpPayload = {
  service: 'stun',
  build() {
    const bytes = new Uint8Array(20);
    const view = new DataView(bytes.buffer);
    view.setUint16(0, 0x0001);
    view.setUint16(2, 0);
    view.setUint32(4, STUN_COOKIE);
    bytes.set(randomBytes(12), 8);
    return bytes;
  },
  matches(request, answer) {
    if (answer.length < 20) return false;
    const type = ((answer[0] ?? 0) << 8) | (answer[1] ?? 0);
    // 0x0101 success, 0x0111 error; the transaction id must be ours.
    return (
      (type === 0x0101 || type === 0x0111) &&
      Buffer.from(answer.subarray(8, 20)).equals(Buffer.from(request.subarray(8, 20)))
    );
  },
};

/** A SIP OPTIONS request (RFC 3261 section 11): a SIP server answers with a status line. */
export const SIP_PAYLOAD: UdpPayload = {
  service: 'sip',
  build() {
    const tag = randomBytes(6).toString('hex');
    const branch = `z9hG4bK${randomBytes(8).toString('hex')}`;
    const callId = randomBytes(10).toString('hex');
    return new TextEncoder().encode(
      [
        'OPTIONS sip:porthole@invalid SIP/2.0',
        `Via: SIP/2.0/UDP invalid;branch=${branch};rport`,
        'Max-Forwards: 70',
        `From: <sip:porthole@invalid>;tag=${tag}`,
        'To: <sip:porthole@invalid>',
        `Call-ID: ${callId}@porthole`,
        'CSeq: 1 OPTIONS',
        'Accept: application/sdp',
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n'),
    );
  },
  matches: (request, answer) => {
    const text = Buffer.from(answer.subarray(0, 2048)).toString('latin1');
    const callId = /Call-ID: (\S+)/.exec(Buffer.from(request).toString('latin1'))?.[1] ?? '';
    return text.startsWith('SIP/2.0 ') && text.includes(callId);
  },
};

/** An NTP client request (RFC 5905; LI 3, version 4, mode 3): a server answers in mode 4. */
export const NTP_PAYLOAD: UdpPayload = {
  service: 'ntp',
  build() {
    const bytes = new Uint8Array(48);
    bytes[0] = 0xe3;
    // The transmit timestamp is echoed as the answer's origin timestamp: random, to match it.
    bytes.set(randomBytes(8), 40);
    return bytes;
  },
  matches: (request, answer) =>
    answer.length >= 48 &&
    ((answer[0] ?? 0) & 0x07) === 4 &&
    Buffer.from(answer.subarray(24, 32)).equals(Buffer.from(request.subarray(40, 48))),
};

/** Which payload a port gets (nmap-payloads' ports for these protocols). */
export const UDP_PAYLOADS: ReadonlyMap<number, UdpPayload> = new Map([
  [53, DNS_PAYLOAD],
  [5353, DNS_PAYLOAD],
  [123, NTP_PAYLOAD],
  [3478, STUN_PAYLOAD],
  [3479, STUN_PAYLOAD],
  [5349, STUN_PAYLOAD],
  [19302, STUN_PAYLOAD],
  [5060, SIP_PAYLOAD],
]);

/** The payload for a port, or undefined when no protocol is known for it. */
export function payloadForPort(port: number): UdpPayload | undefined {
  return UDP_PAYLOADS.get(port);
}
