/** Which external ports to try for a request (first, or again to renew), and this host's address toward a gateway. */
import { createSocket } from 'node:dgram';
import type { Mapping, MappingRequest } from './types.js';

/** The external ports to try, in order: the one asked for, every port of a range, or the internal port. */
export function candidatePorts(request: MappingRequest): number[] {
  const { external } = request;
  if (external === undefined) return [request.internalPort];
  if (typeof external === 'number') return [external];
  return Array.from({ length: external.end - external.start + 1 }, (_, i) => external.start + i);
}

/** The request that renews a mapping: the same ports, protocol, lifetime and description. */
export function renewalRequest(mapping: Mapping): MappingRequest & { external: number } {
  return {
    protocol: mapping.protocol,
    internalPort: mapping.internalPort,
    external: mapping.externalPort,
    lifetimeSeconds: mapping.lifetime,
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
