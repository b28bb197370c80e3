/**
 * From discovery to a client: picks the protocol to map with (PCP, then NAT-PMP, then UPnP,
 * or the one asked for) and builds its client. PCP's "unsupported version" falls back to NAT-PMP.
 */
import type { AbortOptions } from '../deadline/index.js';
import { PortholeError } from '../errors/index.js';
import { type DiscoveryOptions, discoverGateways, type GatewayInfo } from './discovery.js';
import { createNatpmpClient } from './natpmp.js';
import { createPcpClient } from './pcp.js';
import type { Mapping, MappingClient, MappingMethod, MappingRequest } from './types.js';
import { createUpnpClient } from './upnp.js';

/** Preference when nothing is asked for: PCP (IPv6-ready, nonces), NAT-PMP, then UPnP. */
export const METHOD_PREFERENCE: readonly MappingMethod[] = ['pcp', 'natpmp', 'upnp'];

/** The client for one method on a discovered gateway, or undefined when it does not speak it. */
export function clientFor(gateway: GatewayInfo, method: MappingMethod): MappingClient | undefined {
  if (!gateway.protocols.includes(method)) return undefined;
  const base = { gateway: gateway.address, internalAddress: gateway.internalAddress };
  if (method === 'natpmp') return createNatpmpClient(base);
  if (method === 'pcp') return createPcpClient(base);
  const service = gateway.upnp?.description?.services[0];
  return service ? createUpnpClient({ ...base, service }) : undefined;
}

/** The clients of a gateway in the order to try them. */
export function clientsFor(gateway: GatewayInfo, via?: MappingMethod): MappingClient[] {
  const order = via ? [via] : METHOD_PREFERENCE;
  return order.flatMap((method) => clientFor(gateway, method) ?? []);
}

/** Discovers the gateway (the first default route's) or throws E_NO_GATEWAY. */
export async function discoverPrimaryGateway(options: DiscoveryOptions = {}): Promise<GatewayInfo> {
  const [gateway] = await discoverGateways(options);
  if (!gateway) throw new PortholeError('E_NO_GATEWAY');
  return gateway;
}

/** Discovery that stops as soon as a method `mapWithBest` would use first has answered. */
export function enoughToMap(via?: MappingMethod): DiscoveryOptions['enough'] {
  if (via) return (heard) => heard[via];
  // PCP is preferred: NAT-PMP alone is enough once PCP has answered too (even "unsupported").
  return (heard) => heard.pcp || (heard.natpmp && heard.pcpAnswered);
}

/** Maps with the first method that works; refusals from one method fall through to the next. */
export async function mapWithBest(
  gateway: GatewayInfo,
  request: MappingRequest,
  options: AbortOptions & { via?: MappingMethod } = {},
): Promise<{ mapping: Mapping; client: MappingClient; tried: string[] }> {
  const clients = clientsFor(gateway, options.via);
  if (clients.length === 0) {
    throw new PortholeError('E_NO_MAPPING_PROTOCOL', {
      detail: options.via
        ? `${gateway.address} does not speak ${options.via}`
        : `${gateway.address} answered no UPnP IGD, NAT-PMP or PCP probe`,
    });
  }
  const tried: string[] = [];
  let last: unknown;
  for (const client of clients) {
    try {
      return { mapping: await client.map(request, options), client, tried };
    } catch (error) {
      // A conflict is the answer for every method alike; other refusals may be method-specific.
      if (error instanceof PortholeError && error.code === 'E_MAPPING_CONFLICT') throw error;
      tried.push(`${client.method}: ${(error as Error).message}`);
      last = error;
    }
  }
  throw last;
}
