/**
 * One request and its answer over UDP to a gateway (NAT-PMP and PCP), with RFC 6886's
 * retransmission: 250 ms, doubling. Answers from any other address or port are ignored, and a
 * datagram that does not decode is a warning, never a crash.
 */
import { createSocket } from 'node:dgram';
import { type AbortOptions, settleOnce, withDeadline } from '../deadline/index.js';

/** Options for udpExchange. */
export interface ExchangeOptions extends AbortOptions {
  /** First wait before resending (RFC 6886: 250 ms). */
  readonly initialTimeoutMs?: number;
  /** Sends in all; the wait doubles after each. */
  readonly attempts?: number;
  /** Called with each undecodable datagram, for --verbose. */
  readonly onWarning?: (warning: string) => void;
  /** Another address whose answers count (a router answering from its other LAN address, seen in discovery). */
  readonly alsoFrom?: string;
}

/** Sends `request` to address:port until `accept` returns an answer; undefined when none came. */
export function udpExchange<T>(
  address: string,
  port: number,
  request: Uint8Array,
  accept: (message: Buffer) => T | undefined,
  options: ExchangeOptions = {},
): Promise<T | undefined> {
  const initial = options.initialTimeoutMs ?? 250;
  const attempts = options.attempts ?? 4;
  const total = initial * (2 ** attempts - 1);
  const deadline = withDeadline(options.signal, total, `UDP exchange with ${address}:${port}`);
  const socket = createSocket(address.includes(':') ? 'udp6' : 'udp4');
  let timer: NodeJS.Timeout | undefined;
  return settleOnce<T | undefined>(
    options.signal,
    (done) => {
      deadline.addEventListener('abort', () => done(undefined, undefined), { once: true });
      socket.on('error', () => {}); // ICMP errors: keep waiting, the deadline decides.
      socket.on('message', (message, remote) => {
        if ((remote.address !== address && remote.address !== options.alsoFrom) || remote.port !== port) return;
        try {
          const answer = accept(message);
          if (answer !== undefined) done(undefined, answer);
        } catch (error) {
          options.onWarning?.(`ignored a datagram from ${address}:${port}: ${(error as Error).message}`);
        }
      });
      let wait = initial;
      const send = (left: number) => {
        socket.send(request, port, address, () => {});
        if (left > 1) {
          timer = setTimeout(() => send(left - 1), wait);
          wait *= 2;
        }
      };
      socket.bind(0, () => send(attempts));
    },
    () => {
      clearTimeout(timer);
      socket.close();
    },
  );
}
