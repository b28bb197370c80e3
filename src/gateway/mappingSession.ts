/**
 * From discovery to a client: picks the protocol to map with (PCP, then NAT-PMP, then UPnP,
 * or the one asked for) and builds its client. PCP's "unsupported version" falls back to NAT-PMP.
 */
import type { AbortOptions } from '../deadline/index.js';
import { PortholeError } from '../errors/index.js';
import { involvesLowPort } from './candidates.js';
import { type DiscoveryOptions, discoverGateways, type GatewayInfo } from './discovery.js';
import type { KeeperOptions } from './keeper.js';
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
  const port = {
    ...(gateway.natpmpPort ? { port: gateway.natpmpPort } : {}),
    ...(gateway.answersFrom ? { exchange: { alsoFrom: gateway.answersFrom } } : {}),
  };
  if (method === 'natpmp') return createNatpmpClient({ ...base, ...port });
  if (method === 'pcp') return createPcpClient({ ...base, ...port });
  const service = gateway.upnp?.description?.services[0];
  return service
    ? createUpnpClient({ ...base, service, ...(gateway.policy ? { policy: gateway.policy } : {}) })
    : undefined;
}

/**
 * Whether the router lists a mapping, by its UPnP list (miniupnpd lists NAT-PMP and PCP mappings
 * there too): a keeper of a NAT-PMP or PCP mapping asks before renewing, to see a mapping the
 * router dropped while it ran. Undefined when the router speaks no UPnP.
 */
export function listingOf(gateway: GatewayInfo): KeeperOptions['listed'] {
  const upnp = clientFor(gateway, 'upnp') as
    | (MappingClient & { getSpecific(p: 'tcp' | 'udp', e: number, o?: AbortOptions): Promise<unknown> })
    | undefined;
  if (!upnp) return undefined;
  return async (mapping, options) =>
    (await upnp.getSpecific(mapping.protocol, mapping.externalPort, options)) !== undefined;
}

/**
 * The gateway with its UPnP answer, when the discovery that found it stopped before hearing SSDP
 * (`map` stops at the first PCP answer): the router's UPnP list is what tells a dropped mapping
 * from a kept one and a taken port from a denied one. Asked once more, at the gateway only.
 */
export async function withUpnp(gateway: GatewayInfo, options: AbortOptions = {}): Promise<GatewayInfo> {
  if (gateway.protocols.includes('upnp') || gateway.upnp) return gateway;
  const [again] = await discoverGateways({
    gateway: gateway.address,
    ...(gateway.natpmpPort ? { natpmpPort: gateway.natpmpPort } : {}),
    ...(gateway.ssdpPort ? { ssdpPort: gateway.ssdpPort } : {}),
    ...(gateway.policy ? { policy: gateway.policy } : {}),
    multicast: false,
    graceMs: UPNP_GRACE_MS,
    enough: (heard) => heard.upnp,
    ...options,
  }).catch(() => []);
  return again?.upnp
    ? { ...gateway, upnp: again.upnp, protocols: [...new Set([...gateway.protocols, ...again.protocols])] }
    : gateway;
}

/** How long the second look waits for SSDP after NAT-PMP and PCP answered (miniupnpd answers ~50 ms later). */
const UPNP_GRACE_MS = 300;

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
export function enoughToMap(via?: MappingMethod, request?: MappingRequest): DiscoveryOptions['enough'] {
  if (via) return (heard) => heard[via];
  // A port below 1024 goes to UPnP first (see mapWithBest): wait to hear whether it is there.
  if (request && involvesLowPort(request) && request.external !== 'any')
    return (heard) => heard.upnp && (heard.pcp || heard.natpmp);
  // PCP is preferred: NAT-PMP alone is enough once PCP has answered too (even "unsupported").
  return (heard) => heard.pcp || (heard.natpmp && heard.pcpAnswered);
}

/**
 * How telling a failure is, to report the one that explains most when every method failed:
 * "no public address" names the real cause (carrier NAT), a refusal says what the router
 * decided, silence says least.
 */
function tellingness(error: unknown): number {
  const known = error as PortholeError;
  if (known.hint?.includes('no usable public address') || known.code === 'E_GATEWAY_POLICY') return 3;
  if (known.code === 'E_GATEWAY_REFUSED' || known.code === 'E_MAPPING_CONFLICT') return 2;
  if (known.code === 'E_GATEWAY_UNREACHABLE') return 0;
  return 1;
}

/** Said when a request for a port below 1024 failed: the refusal explained, and the way out. */
function lowPortRefusal(request: MappingRequest, failures: readonly { method: string; error: unknown }[]) {
  const port = request.internalPort;
  const alternative = port < 1024 ? 8000 + port : port;
  const detail = failures.map((f) => `${f.method}: ${(f.error as Error).message}`).join('; ');
  return new PortholeError('E_GATEWAY_REFUSED', {
    detail: `the router would not map a port below 1024 (${detail})`,
    hint: `Routers often refuse ports below 1024. Map another external port to it: \`porthole map ${port}/${request.protocol} --external ${alternative}\` (or --external any), and give users the public address with that port. If the router refuses internal ports below 1024 too, run the server on port ${alternative} as well, or forward it by hand.`,
    data: { method: failures.at(-1)?.method, tried: failures.map((f) => f.method), lowPort: true },
    cause: failures.at(-1)?.error,
  });
}

/**
 * PCP answers CANNOT_PROVIDE_EXTERNAL both for a port another host holds and for one the router's
 * rules do not allow; the router's UPnP list tells them apart (miniupnpd lists every protocol's
 * mappings there): a holder found is named; none means its rules (E_GATEWAY_REFUSED, reason
 * policy). Without UPnP, the refusal says both.
 */
async function whoHolds(
  gateway: GatewayInfo,
  request: MappingRequest,
  error: PortholeError,
  options: AbortOptions,
): Promise<PortholeError> {
  const skipped = (error.data?.skipped as { port: number; why: string }[] | undefined) ?? [];
  if (error.data?.method !== 'pcp' || error.data?.result !== 11 || skipped.length === 0) return error;
  const upnp = clientFor(await withUpnp(gateway, options), 'upnp') as
    | (MappingClient & {
        getSpecific(p: 'tcp' | 'udp', e: number, o?: AbortOptions): Promise<{ internalAddress: string } | undefined>;
      })
    | undefined;
  if (!upnp) return error;
  const holders: string[] = [];
  for (const { port } of skipped.slice(0, 4)) {
    const entry = await upnp.getSpecific(request.protocol, port, options).catch(() => undefined);
    if (entry && entry.internalAddress !== gateway.internalAddress) holders.push(`${port} by ${entry.internalAddress}`);
  }
  const ports = skipped.map((s) => s.port).join(', ');
  if (holders.length > 0)
    return new PortholeError('E_MAPPING_CONFLICT', {
      detail: `${request.protocol} ${ports}: held by another host (${holders.join('; ')}, the router's UPnP list)`,
      hint: 'Map another external port (`--external PORT`, or a range), or free the port on the router.',
      data: { ...error.data, reason: 'taken', holders },
      cause: error,
    });
  return new PortholeError('E_GATEWAY_REFUSED', {
    detail: `this router's rules do not allow ${gateway.internalAddress} ${request.protocol} ${ports} (PCP would not give ${skipped.length === 1 ? 'it' : 'them'}, and the router's UPnP list shows no other host holding ${skipped.length === 1 ? 'it' : 'them'})`,
    hint: `Map a port its rules allow (\`--external PORT\`; a port from 1024 up, away from ${ports}), or allow these ports for ${gateway.internalAddress} in the router's UPnP / PCP settings.`,
    data: { ...error.data, reason: 'policy' },
    cause: error,
  });
}

/**
 * Maps with the first method that works; refusals from one method fall through to the next, and
 * when all fail the most telling failure is reported (all of them are in `data.tried`).
 *
 * Ports below 1024 go to UPnP first when the router speaks it: routers answer a refused SOAP
 * request at once (606), while miniupnpd 2.3 searches every port in turn for a refused NAT-PMP or
 * PCP request and answers nobody for 5-50 s (seen in the lab). A refusal there ends the attempt:
 * the other protocols ask the same router's same rules. Without UPnP, PCP or NAT-PMP is asked once.
 */
export async function mapWithBest(
  gateway: GatewayInfo,
  request: MappingRequest,
  options: AbortOptions & { via?: MappingMethod } = {},
): Promise<{ mapping: Mapping; client: MappingClient; tried: string[] }> {
  const low = involvesLowPort(request) && request.external !== 'any';
  const preferred = clientsFor(gateway, options.via);
  const clients =
    low && !options.via
      ? [...preferred.filter((c) => c.method === 'upnp'), ...preferred.filter((c) => c.method !== 'upnp')]
      : preferred;
  if (clients.length === 0) {
    throw new PortholeError('E_NO_MAPPING_PROTOCOL', {
      detail: options.via
        ? `${gateway.address} does not speak ${options.via}`
        : `${gateway.address} answered no UPnP IGD, NAT-PMP or PCP probe`,
    });
  }
  const failures: { method: MappingMethod; error: unknown }[] = [];
  for (const client of clients) {
    try {
      return {
        mapping: await client.map(request, options),
        client,
        tried: failures.map((f) => `${f.method}: ${(f.error as Error).message}`),
      };
    } catch (error) {
      if (options.signal?.aborted) throw error;
      // A conflict, and a host the router's rules refuse, are the answer for every method alike
      // (one router, one table, one set of rules); other refusals may be method-specific. Asking
      // NAT-PMP after PCP named the rules would start miniupnpd's search for an allowed port.
      if (error instanceof PortholeError && error.code === 'E_MAPPING_CONFLICT')
        throw await whoHolds(gateway, request, error, options);
      if (error instanceof PortholeError && error.code === 'E_GATEWAY_POLICY') throw error;
      failures.push({ method: client.method, error });
      // A low port refused, or asked and not answered (the router may be busy with it): asking
      // the same router again by another protocol only stalls it further.
      if (low) break;
    }
  }
  if (low) throw lowPortRefusal(request, failures);
  const telling = failures.reduce((best, f) => (tellingness(f.error) > tellingness(best.error) ? f : best));
  if (telling.error instanceof PortholeError) {
    throw new PortholeError(telling.error.code, {
      detail: `${telling.error.detail ?? ''}${
        failures.length > 1
          ? ` (also tried: ${failures
              .filter((f) => f !== telling)
              .map((f) => `${f.method}: ${(f.error as Error).message}`)
              .join('; ')})`
          : ''
      }`,
      ...(telling.error.hint ? { hint: telling.error.hint } : {}),
      data: { ...telling.error.data, tried: failures.map((f) => f.method) },
      cause: telling.error,
    });
  }
  throw telling.error;
}
