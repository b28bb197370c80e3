/**
 * Which ways to the relay this network lets out, learnt by the egress module's sweep (all of the
 * relay's ports at once: its SSH port and the WebSocket ports), so the client gives up on a way
 * the network drops as soon as the sweep says so instead of waiting out the transport's deadline
 * (a venue that drops port 22 costs one sweep, about a second, instead of five), and tries such
 * ways last on the next connection. The sweep runs beside the
 * first attempt, never before it: where the direct road works it costs nothing.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { EgressState } from '../egress/index.js';
import type { RelayTransport } from './transport.js';

/** The relay's ports as the network treats them: port → allowed, blocked (silent or refused). */
export type RelayEgress = ReadonlyMap<number, EgressState>;

/** The relay port a transport needs to get out on, or undefined when it goes through a proxy. */
export function portOfTransport(transport: RelayTransport, relayPort: number): number | undefined {
  if (transport.kind === 'direct') return relayPort;
  if (transport.kind === 'websocket' && !transport.proxy) return transport.port;
  return undefined;
}

/**
 * Sweeps the relay's ports that the transports use (connect handshakes, the sweep's learnt timing:
 * one answer makes the silent ones quick to judge). Empty when the relay's name does not resolve
 * or the sweep fails: then the default order stands.
 */
export async function learnRelayEgress(
  transports: readonly RelayTransport[],
  relay: { readonly host: string; readonly port: number },
  signal: AbortSignal,
): Promise<RelayEgress> {
  const ports = [...new Set(transports.map((t) => portOfTransport(t, relay.port)).filter((p) => p !== undefined))];
  // A relay on this host: every port answers or refuses at once, there is nothing to learn.
  if (ports.length === 0 || relay.host === 'localhost' || /^(127\.|::1$)/.test(relay.host)) return new Map();
  try {
    const host = isIP(relay.host) ? relay.host : (await lookup(relay.host)).address;
    const { sweepEgress } = await import('../egress/index.js');
    const report = await sweepEgress(
      [{ host, handshake: 'connect', entries: ports.map((port) => ({ port, protocol: 'tcp' as const })) }],
      // No canaries: a handshake here is a hint of which way to try first, and the attempt itself
      // tells an intercepting proxy from the relay; nothing is sent to any other address.
      { signal, canaries: false },
    );
    return new Map(report.results.map((result) => [result.port, result.state]));
  } catch {
    // Learning is an optimisation: without it the transports are tried in their default order.
    return new Map();
  }
}

/**
 * The transports in the order to try: the default order (direct, the proxy the user named,
 * WebSocket ports), with the ones whose port does not get out of this network moved last (still
 * tried: a port may be open toward the relay alone, which a sweep cannot tell).
 */
export function orderTransports(
  transports: readonly RelayTransport[],
  relayPort: number,
  egress: RelayEgress,
): RelayTransport[] {
  const blocked = (transport: RelayTransport): number => {
    const port = portOfTransport(transport, relayPort);
    return port !== undefined && egress.get(port) === 'blocked' ? 1 : 0;
  };
  // A stable sort keeps the default order otherwise.
  return [...transports].sort((a, b) => blocked(a) - blocked(b));
}
