/**
 * One DNS request and its answer over UDP, with retransmission (1 s, doubling, as BIND's
 * resolver roughly does). The socket is connected, so only the server's datagrams arrive and an
 * ICMP "port unreachable" ends the wait at once. A datagram that does not decode, or whose
 * signature fails, is a warning: the wait goes on, and only when nothing better came is that
 * problem the error.
 */
import { createSocket } from 'node:dgram';
import { type AbortOptions, abortReason, settleOnce, withDeadline } from '../deadline/index.js';
import { PortholeError } from '../errors/index.js';
import { isIpLiteral } from '../net/index.js';
import { MAX_DNS_MESSAGE } from './updateCodec.js';

/** A DNS server: address and port. */
export interface DnsServer {
  readonly address: string;
  readonly port: number;
}

/** Options for a DNS exchange. */
export interface DnsExchangeOptions extends AbortOptions {
  /** First wait before resending. */
  readonly initialTimeoutMs?: number;
  /** Sends in all; the wait doubles after each. */
  readonly attempts?: number;
  /** Called with each datagram that was ignored, for --verbose. */
  readonly onWarning?: (warning: string) => void;
}

/** How to show a server in messages. */
export function formatServer(server: DnsServer): string {
  return server.address.includes(':') ? `[${server.address}]:${server.port}` : `${server.address}:${server.port}`;
}

/**
 * Sends `request` until `accept` returns an answer. `accept` returns undefined for a datagram
 * that is not ours (another id) and throws for one that is wrong; the last such error is what
 * the caller gets when no good answer came, else E_DNS_NO_ANSWER.
 */
export function dnsExchange<T>(
  server: DnsServer,
  request: Uint8Array,
  accept: (message: Buffer) => T | undefined,
  options: DnsExchangeOptions = {},
): Promise<T> {
  const initial = options.initialTimeoutMs ?? 1000;
  const attempts = options.attempts ?? 3;
  const total = initial * (2 ** attempts - 1);
  const where = formatServer(server);
  const deadline = withDeadline(options.signal, total, `DNS exchange with ${where}`);
  const socket = createSocket(server.address.includes(':') ? 'udp6' : 'udp4');
  let timer: NodeJS.Timeout | undefined;
  let problem: Error | undefined;
  return settleOnce<T>(
    options.signal,
    (done) => {
      deadline.addEventListener(
        'abort',
        () =>
          done(
            (options.signal?.aborted ? abortReason(options.signal) : undefined) ??
              problem ??
              new PortholeError('E_DNS_NO_ANSWER', { detail: `${where} did not answer within ${total} ms` }),
          ),
        { once: true },
      );
      socket.on('error', (error: NodeJS.ErrnoException) => {
        done(
          new PortholeError('E_DNS_NO_ANSWER', {
            detail: `${where}: ${error.code === 'ECONNREFUSED' ? 'nothing listens there (port unreachable)' : error.message}`,
            cause: error,
          }),
        );
      });
      socket.on('message', (message) => {
        if (message.length > MAX_DNS_MESSAGE) {
          options.onWarning?.(`ignored a ${message.length}-byte datagram from ${where}`);
          return;
        }
        try {
          const answer = accept(message);
          if (answer !== undefined) done(undefined, answer);
        } catch (error) {
          problem = error instanceof Error ? error : new Error(String(error));
          options.onWarning?.(`ignored a datagram from ${where}: ${problem.message}`);
        }
      });
      let wait = initial;
      const send = (left: number) => {
        socket.send(request, () => {});
        if (left > 1) {
          timer = setTimeout(() => send(left - 1), wait);
          wait *= 2;
        }
      };
      socket.connect(server.port, server.address, () => send(attempts));
    },
    () => {
      clearTimeout(timer);
      socket.close();
    },
  );
}

/** Parses SERVER[:PORT] or [V6]:PORT (an IP literal; port 53 by default); E_USAGE otherwise. */
export function parseDnsServer(text: string, flag = '--server'): DnsServer {
  const match = /^(?:\[([^\]]+)\]|([^:]+)|([0-9a-fA-F:]+:[0-9a-fA-F:.]*))(?::(\d{1,5}))?$/.exec(text.trim());
  const address = match?.[1] ?? match?.[2] ?? match?.[3];
  const port = Number(match?.[4] ?? 53);
  if (!address || !isIpLiteral(address) || port < 1 || port > 65535) {
    throw new PortholeError('E_USAGE', {
      detail: `${flag} "${text}" is not ADDRESS[:PORT]`,
      hint: `Give the server's IP address, e.g. ${flag} 192.0.2.53 or ${flag} 192.0.2.53:5353 ([2001:db8::53]:53 for IPv6).`,
    });
  }
  return { address, port };
}
