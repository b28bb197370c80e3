/**
 * A router's own word that it lost its mappings: a PCP server that restarted sends an unsolicited
 * ANNOUNCE, and a NAT-PMP server announces its external address at start and on every change, both
 * to 224.0.0.1:5350 (RFC 6887 §14.1.3, RFC 6886 §3.2.1; miniupnpd sends the ANNOUNCE at start).
 * Heard, the keepers re-make their mappings at once instead of at their next check (up to 30 s,
 * and miniupnpd lifts a PCP lease to 120 s). Only the gateway's own datagrams count; one that does
 * not decode is ignored. Listening is an optimisation: where the port cannot be had, keepers
 * still check on their interval.
 */
import { createSocket, type Socket } from 'node:dgram';
import type { AbortOptions } from '../deadline/index.js';
import { decodeNatpmpResponse } from './natpmpCodec.js';
import { decodePcpResponse, PCP_OP_ANNOUNCE } from './pcpCodec.js';

/** Where announcements arrive (RFC 6886 §3.2.1, RFC 6887 §14.1.3). */
export const ANNOUNCE_GROUP = '224.0.0.1';
export const ANNOUNCE_PORT = 5350;

/** Where to listen, and for whom. */
export interface AnnouncementOptions extends AbortOptions {
  /** The gateway's address: datagrams from any other are dropped. */
  readonly gateway: string;
  /** This host's address toward the gateway: the group is joined on its interface. */
  readonly localAddress?: string;
  /** The port to listen on (tests give their own; the group is then not joined). */
  readonly port?: number;
}

/** What an announcement said, for the keeper's event. */
export interface Announcement {
  readonly protocol: 'pcp' | 'natpmp';
  readonly epoch: number;
  readonly externalIp?: string;
}

/** Decodes an announcement from the gateway; undefined for anything else. Pure. */
export function decodeAnnouncement(message: Uint8Array): Announcement | undefined {
  try {
    if (message[0] === 0) {
      const answer = decodeNatpmpResponse(message);
      return answer.kind === 'external-address' && answer.result === 0
        ? { protocol: 'natpmp', epoch: answer.epoch, externalIp: answer.externalIp }
        : undefined;
    }
    const answer = decodePcpResponse(message);
    return answer.opcode === PCP_OP_ANNOUNCE && answer.result === 0
      ? { protocol: 'pcp', epoch: answer.epoch }
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Listens until the signal aborts, dispatching a `wake` event (with the announcement as `detail`)
 * on `wake` for each announcement from the gateway. Resolves once listening, or without listening
 * when the port cannot be had (another program holds it without sharing): never throws.
 */
export async function listenForAnnouncements(
  wake: EventTarget,
  options: AnnouncementOptions,
): Promise<{ readonly listening: boolean }> {
  if (options.signal?.aborted) return { listening: false };
  const port = options.port ?? ANNOUNCE_PORT;
  // Shared: every keeper on this host may listen, as may the router's other clients.
  const socket: Socket = createSocket({ type: 'udp4', reuseAddr: true });
  const close = () => {
    socket.removeAllListeners('message');
    try {
      socket.close();
    } catch {
      // Already closed.
    }
  };
  const listening = await new Promise<boolean>((resolve) => {
    socket.once('error', () => resolve(false));
    socket.bind(port, () => resolve(true));
  });
  if (!listening) {
    close();
    return { listening: false };
  }
  socket.on('error', () => {});
  if (options.port === undefined) {
    try {
      socket.addMembership(ANNOUNCE_GROUP, options.localAddress);
    } catch {
      // The group is joined on the default interface or not at all: unicast announcements still arrive.
    }
  }
  socket.on('message', (message, remote) => {
    if (remote.address !== options.gateway) return;
    const announcement = decodeAnnouncement(message);
    if (announcement) wake.dispatchEvent(new CustomEvent('wake', { detail: announcement }));
  });
  options.signal?.addEventListener('abort', close, { once: true });
  return { listening: true };
}
