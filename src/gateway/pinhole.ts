/**
 * IPv6 pinholes: the router's IPv6 firewall opened for one port of this host. There is no
 * translation (the address users reach is the host's own global IPv6), only the home router's
 * stateful firewall to open, which PCP (RFC 6887 over IPv6, preferred) and IGDv2
 * (WANIPv6FirewallControl, the fallback) can do. The gateway is found by pinholeDiscovery.ts.
 */
import type { AbortOptions } from '../deadline/index.js';
import { PortholeError } from '../errors/index.js';
import { createPcpClient } from './pcp.js';
import {
  discoverPinholeGateway,
  onLinkRouterPolicy,
  type PinholeDiscoveryOptions,
  type PinholeGateway,
  withoutZone,
} from './pinholeDiscovery.js';
import { forgetMappings, readMappingState, type StoredMapping } from './state.js';
import type { Mapping, MappingClient, MappingMethod, MappingRequest } from './types.js';
import { createUpnpPinholeClient, MAX_PINHOLE_LEASE_SECONDS } from './upnpPinhole.js';

export {
  discoverPinholeGateway,
  onLinkRouterPolicy,
  type PinholeDiscoveryOptions,
  type PinholeGateway,
} from './pinholeDiscovery.js';

/** The pinhole client for one method on the IPv6 gateway, or undefined when it does not speak it. */
export function pinholeClientFor(gateway: PinholeGateway, method: MappingMethod): MappingClient | undefined {
  if (!gateway.protocols.includes(method)) return undefined;
  if (method === 'pcp') return createPcpClient({ gateway: gateway.address, internalAddress: gateway.internalAddress });
  const controlUrl = gateway.upnp?.firewallControlUrl;
  if (method !== 'upnp' || !controlUrl) return undefined;
  return createUpnpPinholeClient({
    gateway: gateway.address,
    internalAddress: gateway.internalAddress,
    controlUrl,
    policy: onLinkRouterPolicy(gateway.internalAddress),
  });
}

/** Pinhole methods in the order tried: PCP (one UDP exchange, nonces), then IGDv2. */
export const PINHOLE_PREFERENCE: readonly MappingMethod[] = ['pcp', 'upnp'];

/**
 * Opens an IPv6 pinhole with the first method that works (PCP, then IGDv2, or the one asked
 * for). A refusal is explained (ports below 1024, the sender rule); when every method fails,
 * the refusal is reported over silence, with all attempts in `data.tried`.
 */
export async function openPinhole(
  gateway: PinholeGateway,
  request: MappingRequest,
  options: AbortOptions & { via?: MappingMethod } = {},
): Promise<{ mapping: Mapping; client: MappingClient; tried: string[] }> {
  // PCP first for every port: miniupnpd 2.3.1 grants PCP pinholes below 1024 (its permission rules
  // guard IPv4 redirects) while IGDv2 answers 606 for them; with no port to search, a PCP pinhole
  // request never makes it stall as a refused IPv4 one does (seen in the lab).
  const methods = options.via ? [options.via] : PINHOLE_PREFERENCE;
  // Lease 0 is "delete" in PCP and invalid in IGDv2: a pinhole asked "permanent" gets the longest lease.
  const asked: MappingRequest =
    request.lifetimeSeconds > 0 ? request : { ...request, lifetimeSeconds: MAX_PINHOLE_LEASE_SECONDS };
  const clients = methods.flatMap((method) => pinholeClientFor(gateway, method) ?? []);
  if (clients.length === 0)
    throw new PortholeError('E_NO_MAPPING_PROTOCOL', {
      detail: `${gateway.address} answered ${options.via ? `no ${options.via}` : 'neither PCP nor IGDv2 (WANIPv6FirewallControl)'} over IPv6${gateway.upnp?.error ? ` (${gateway.upnp.error})` : ''}`,
    });
  const failures: { method: MappingMethod; error: unknown }[] = [];
  for (const client of clients) {
    try {
      const mapping = await client.map(asked, options);
      return {
        mapping: { ...mapping, family: 6 },
        client,
        tried: failures.map((f) => `${f.method}: ${(f.error as Error).message}`),
      };
    } catch (error) {
      if (options.signal?.aborted) throw error;
      failures.push({ method: client.method, error: asPinholeError(error, request) });
    }
  }
  const refused = failures.find((f) => (f.error as PortholeError).code === 'E_PINHOLE_REFUSED') ?? failures[0];
  const error = refused?.error as PortholeError;
  throw new PortholeError(error.code, {
    detail: failures
      .map((f) => `${f.method}: ${(f.error as PortholeError).detail ?? (f.error as Error).message}`)
      .join('; '),
    ...(error.hint ? { hint: error.hint } : {}),
    data: { ...error.data, family: 6, tried: failures.map((f) => f.method) },
    cause: error,
  });
}

/**
 * Discovery and opening in one call, the quick way: discovery stops at PCP's answer, and only
 * when PCP then fails is the gateway asked again for IGDv2 (SSDP and its description) to fall
 * back to. What `porthole map --family ipv6` and the doctor's IPv6 path call.
 */
export async function mapPinhole(
  request: MappingRequest,
  options: PinholeDiscoveryOptions & {
    via?: MappingMethod;
    /** Runs once the gateway is known, before it is asked (a keeper records its request there). */
    beforeAsking?: (gateway: PinholeGateway) => void;
    /** How the gateway is found (a run session discovers it once per run); default: discover here. */
    discover?: (options: Pick<PinholeDiscoveryOptions, 'stopAtPcp'>) => Promise<PinholeGateway>;
  } = {},
): Promise<{ gateway: PinholeGateway; mapping: Mapping; client: MappingClient; tried: string[] }> {
  const { via, beforeAsking, discover: given, ...discovery } = options;
  const discover = given ?? ((wanted) => discoverPinholeGateway({ ...discovery, ...wanted }));
  const quick = via === undefined || via === 'pcp';
  const gateway = await discover({ stopAtPcp: quick });
  beforeAsking?.(gateway);
  try {
    return { gateway, ...(await openPinhole(gateway, request, { ...discovery, ...(via ? { via } : {}) })) };
  } catch (error) {
    if (via !== undefined || gateway.upnp !== undefined || options.signal?.aborted) throw error;
    const full = await discover({ stopAtPcp: false });
    if (!full.protocols.includes('upnp')) throw error;
    const opened = await openPinhole(full, request, { ...discovery, via: 'upnp' });
    return { gateway: full, ...opened, tried: [`pcp: ${(error as Error).message}`, ...opened.tried] };
  }
}

/** A PCP refusal said as a pinhole refusal, with miniupnpd's rules in plain words. */
function asPinholeError(error: unknown, request: MappingRequest): unknown {
  if (!(error instanceof PortholeError) || error.code !== 'E_GATEWAY_REFUSED') return error;
  const low = request.internalPort < 1024;
  return new PortholeError('E_PINHOLE_REFUSED', {
    detail: error.detail ?? error.message,
    hint: low
      ? 'The router refuses pinholes to internal ports below 1024 (miniupnpd answers NOT_AUTHORIZED / 606): run the server on a port of 1024 or above, or open it in the router by hand.'
      : 'The router did not allow this pinhole: its rules may not allow the port, or IPv6 pinholes are off in its settings (allow UPnP/PCP IPv6 pinholes there).',
    data: { ...error.data, family: 6 },
    cause: error,
  });
}

/** What closing pinholes did. */
export interface PinholeRemoval {
  readonly removed: readonly StoredMapping[];
  readonly failed: readonly { mapping: StoredMapping; why: string }[];
}

/**
 * Closes the pinholes porthole recorded for a port on this gateway (IGDv2 and PCP cannot list
 * pinholes: the record, with its UniqueID or nonce, is what deletes them).
 */
export async function closePinholes(
  gateway: PinholeGateway,
  query: AbortOptions & { protocol: 'tcp' | 'udp'; internalPort: number; statePath: string },
): Promise<PinholeRemoval> {
  const matches = (m: StoredMapping) =>
    m.family === 6 &&
    withoutZone(m.gateway) === withoutZone(gateway.address) &&
    m.protocol === query.protocol &&
    m.internalPort === query.internalPort;
  const records = readMappingState(query.statePath).filter(matches);
  const removed: StoredMapping[] = [];
  const failed: { mapping: StoredMapping; why: string }[] = [];
  for (const record of records) {
    const client = pinholeClientFor({ ...gateway, protocols: [record.method] }, record.method);
    try {
      if (!client)
        throw new PortholeError('E_NO_MAPPING_PROTOCOL', { detail: `the gateway no longer speaks ${record.method}` });
      await client.unmap(record, query);
      removed.push(record);
    } catch (error) {
      failed.push({ mapping: record, why: (error as Error).message });
    }
  }
  forgetMappings(
    query.statePath,
    (m) => matches(m) && removed.some((r) => r.pinholeId === m.pinholeId && r.nonce === m.nonce),
  );
  return { removed, failed };
}
