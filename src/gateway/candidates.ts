/** Which external ports to try for a request (first, or again to renew), and this host's address toward a gateway. */
import { createSocket } from 'node:dgram';
import type { Mapping, MappingRequest } from './types.js';

/** Ports below this are privileged; routers commonly refuse to map them (miniupnpd's default rules). */
export const FIRST_UNPRIVILEGED_PORT = 1024;

/** Whether a request involves a port below 1024 on either side. */
export function involvesLowPort(request: MappingRequest): boolean {
  const { external } = request;
  const externalLow =
    typeof external === 'number'
      ? external < FIRST_UNPRIVILEGED_PORT
      : typeof external === 'object'
        ? external.start < FIRST_UNPRIVILEGED_PORT
        : external === undefined && request.internalPort < FIRST_UNPRIVILEGED_PORT;
  return externalLow || request.internalPort < FIRST_UNPRIVILEGED_PORT;
}

/**
 * The external ports `any` tries: the well-known alternative for a privileged port (80 → 8080,
 * 443 → 8443: the numbers users recognise), then a few from the dynamic range.
 */
export function anyExternalPorts(internalPort: number): number[] {
  const alternative = internalPort < FIRST_UNPRIVILEGED_PORT ? [8000 + internalPort] : [internalPort];
  const spread = [0, 1, 2, 3].map((i) => 49152 + ((internalPort * 97 + i * 4099) % 16384));
  return [...new Set([...alternative, ...spread])];
}

/**
 * How a NAT-PMP/PCP request involving a port below 1024 is sent: once, with one wait. miniupnpd
 * 2.3 does not answer a refused low port until it has searched every port (5-50 s, the router
 * deaf to everyone meanwhile); each resend would start that search again.
 */
export const LOW_PORT_EXCHANGE = { attempts: 1, initialTimeoutMs: 1500 } as const;

/** The external ports to try, in order: the one asked for, every port of a range, or the internal port. */
export function candidatePorts(request: MappingRequest): number[] {
  const { external } = request;
  if (external === undefined) return [request.internalPort];
  if (external === 'any') return anyExternalPorts(request.internalPort);
  if (typeof external === 'number') return [external];
  return Array.from({ length: external.end - external.start + 1 }, (_, i) => external.start + i);
}

/** The request that renews a mapping: the same ports, protocol, lifetime and description. */
export function renewalRequest(mapping: Mapping): MappingRequest & { external: number } {
  return {
    protocol: mapping.protocol,
    internalPort: mapping.internalPort,
    external: mapping.externalPort,
    // The lease first asked for: a router that clamped it once clamps it again, and one that
    // changed its limits since (a new setting, a restart) may grant it now.
    lifetimeSeconds: mapping.asked?.lifetime ?? mapping.lifetime,
    description: mapping.description ?? '',
  };
}

/** Whether a granted port satisfies the request (a range must contain it). */
export function portSatisfies(request: MappingRequest, port: number): boolean {
  const { external } = request;
  return typeof external === 'object' ? port >= external.start && port <= external.end : true;
}

/** The address this host uses to reach `gateway` (a connected UDP socket sends nothing). */
export function localAddressToward(gateway: string): Promise<string> {
  const socket = createSocket(gateway.includes(':') ? 'udp6' : 'udp4');
  return new Promise((resolve, reject) => {
    socket.once('error', (error) => {
      socket.close();
      reject(error);
    });
    socket.connect(9, gateway, () => {
      const { address } = socket.address();
      socket.close();
      resolve(address);
    });
  });
}
