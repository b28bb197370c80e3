/**
 * One round of asking a gateway everything at once (Tailscale's netcheck way), shared by IPv4
 * discovery and the IPv6 pinhole gateway: from one UDP socket the probes go out together and
 * once more after RESEND_MS for what is still unanswered; the round ends as soon as everything
 * wanted was heard, a short grace after the first answer, or at the deadline. Only the gateway's
 * own datagrams count, and one that does not decode is a warning, never a crash.
 */
import { createSocket, type Socket } from 'node:dgram';
import { type AbortOptions, settleOnce, throwIfAborted, withDeadline } from '../deadline/index.js';

/** Resend the probes once after this long if nothing came back. */
const RESEND_MS = 250;

/** What one round sends and listens for. */
export interface GatewayRound extends AbortOptions {
  readonly family: 4 | 6;
  /** The gateway's address: answers from any other are dropped (IPv6 zones are ignored). */
  readonly gateway: string;
  /** For the deadline's message: "gateway probe of 192.168.1.1". */
  readonly label: string;
  readonly timeoutMs: number;
  readonly graceMs: number;
  /** Sends the probes whose answers have not been heard yet. */
  readonly send: (socket: Socket) => void;
  /** Takes one datagram from the gateway; throws when it does not decode. */
  readonly hear: (message: Buffer, port: number) => void;
  /** Everything wanted was heard: end now, without waiting out the grace. */
  readonly complete: () => boolean;
  /**
   * Something heard can be used: only then does the grace start. An answer that says no (NAT-PMP
   * refused, PCP "unsupported version") must not cut short the wait for a router whose SSDP answer
   * comes late (UPnP allows a delay up to MX seconds for a multicast search). Default: any answer.
   */
  readonly usable?: () => boolean;
  /**
   * Another address whose answers count as the gateway's, on the NAT-PMP/PCP port only: a router
   * that answers from its other LAN address. Undefined: only the gateway's own.
   */
  readonly alsoFrom?: (address: string, port: number) => boolean;
}

/** An address without its IPv6 zone (`%eth0`), for comparing. */
export const withoutZone = (address: string): string => address.replace(/%.*$/, '');

/** Runs one round; returns the warnings (undecodable datagrams). Throws only when aborted. */
export async function runGatewayRound(round: GatewayRound): Promise<string[]> {
  const warnings: string[] = [];
  const socket = createSocket(round.family === 6 ? 'udp6' : 'udp4');
  const deadline = withDeadline(round.signal, round.timeoutMs, round.label);
  const gateway = withoutZone(round.gateway);
  let grace: NodeJS.Timeout | undefined;
  let resend: NodeJS.Timeout | undefined;
  await settleOnce<void>(
    round.signal,
    (done) => {
      deadline.addEventListener('abort', () => done(undefined), { once: true });
      socket.on('error', () => {});
      socket.on('message', (message, remote) => {
        const from = withoutZone(remote.address);
        if (from !== gateway && !round.alsoFrom?.(from, remote.port)) return;
        try {
          round.hear(message, remote.port);
        } catch (error) {
          const from = round.family === 6 ? `[${remote.address}]:${remote.port}` : `${remote.address}:${remote.port}`;
          warnings.push(`ignored a datagram from ${from}: ${(error as Error).message}`);
          return;
        }
        if (round.complete()) done(undefined);
        else if (round.usable?.() ?? true) grace ??= setTimeout(() => done(undefined), round.graceMs);
      });
      socket.bind(0, () => {
        round.send(socket);
        resend = setTimeout(() => round.send(socket), RESEND_MS);
      });
    },
    () => {
      clearTimeout(grace);
      clearTimeout(resend);
      socket.close();
    },
  );
  throwIfAborted(round.signal);
  return warnings;
}
