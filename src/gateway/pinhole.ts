/**
 * IPv6 pinholes: the router's IPv6 firewall opened for one port of this host. There is no
 * translation (the address users reach is the host's own global IPv6), only the home router's
 * stateful firewall to open, which PCP (RFC 6887 over IPv6, preferred) and IGDv2
 * (WANIPv6FirewallControl, the fallback) can do. Discovery asks the IPv6 default gateway with one
 * PCP ANNOUNCE and one unicast SSDP M-SEARCH from one UDP socket, as discovery.ts does for IPv4.
 */
import { createSocket } from 'node:dgram';
import { type AbortOptions, settleOnce, throwIfAborted, withDeadline } from '../deadline/index.js';
import { PortholeError } from '../errors/index.js';
import { cidrContains, classifyAddress, isIpLiteral, parseCidr } from '../net/address.js';
import { defaultGateways, listInterfaces } from '../net/localNetwork.js';
import { unusableTargetReason } from '../net/targetAddress.js';
import { localAddressToward } from './candidates.js';
import { assertGatewayAllowed } from './discovery.js';
import { parseIgdDescription } from './igdDescription.js';
import { type AddressPolicy, igdRequest } from './igdHttp.js';
import { NATPMP_PORT } from './natpmp.js';
import { createPcpClient } from './pcp.js';
import { decodePcpResponse, encodePcpAnnounce, PCP_OP_ANNOUNCE } from './pcpCodec.js';
import { decodeSsdpAnswer, encodeMSearch, SSDP_PORT } from './ssdpCodec.js';
import { forgetMappings, readMappingState, type StoredMapping } from './state.js';
import type { Mapping, MappingClient, MappingMethod, MappingRequest } from './types.js';
import { createUpnpPinholeClient, MAX_PINHOLE_LEASE_SECONDS } from './upnpPinhole.js';

/** The IPv6 gateway and what it speaks for pinholes. */
export interface PinholeGateway {
  readonly family: 6;
  /** The router's IPv6 address PCP and SOAP go to (the IPv6 default route's next hop). */
  readonly address: string;
  readonly interface: string;
  /** This host's global IPv6 address: the pinhole's internal address and the requests' source. */
  readonly internalAddress: string;
  /** 'pcp' and/or 'upnp' (IGDv2 WANIPv6FirewallControl). */
  readonly protocols: readonly MappingMethod[];
  readonly pcp?: { readonly result: number; readonly epoch: number };
  readonly upnp?: { readonly location: string; readonly firewallControlUrl?: string; readonly error?: string };
  readonly ms: number;
  readonly warnings: readonly string[];
}

/** Options for IPv6 gateway discovery. */
export interface PinholeDiscoveryOptions extends AbortOptions {
  /** Overrides: the IPv6 gateway and ports to ask (tests). */
  readonly gateway?: string;
  readonly pcpPort?: number;
  readonly ssdpPort?: number;
  /** Give up on silent protocols after this long (ms). */
  readonly timeoutMs?: number;
  /** Wait after the first answer for the other (ms); miniupnpd's SSDP answers ~50 ms after PCP. */
  readonly graceMs?: number;
  /**
   * Stop as soon as PCP has granted an ANNOUNCE, without waiting for SSDP and the IGD
   * description (~50-150 ms on miniupnpd): `map` uses PCP first and needs IGDv2 only without it.
   */
  readonly stopAtPcp?: boolean;
}

/** The search target for the IPv6 firewall service (IGDv2). */
const FIREWALL_SEARCH_TARGET = 'urn:schemas-upnp-org:service:WANIPv6FirewallControl:1';
const DEFAULT_TIMEOUT_MS = 1000;
const DEFAULT_GRACE_MS = 150;
const RESEND_MS = 250;

const withoutZone = (address: string) => address.replace(/%.*$/, '');

/**
 * Which URLs the IPv6 router may name: a literal address that is the gateway itself, or (when the
 * default route's next hop is link-local, as on most real routers) an address on this host's own
 * /64, the router's global LAN address. Never a name, never another network.
 */
export function onLinkRouterPolicy(internalAddress: string): AddressPolicy {
  const link = parseCidr(`${internalAddress}/64`);
  return (url, gateway) => {
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    if (url.protocol !== 'http:') return `${url.protocol} is not http:`;
    if (!isIpLiteral(host)) return `"${host}" is a name, not an address (porthole never resolves names a router gives)`;
    if (withoutZone(host) === withoutZone(gateway)) return undefined;
    if (host.includes(':') && cidrContains(link, { family: 6, bytes: parseIpv6Bytes(host) })) return undefined;
    return `${host} is neither the gateway (${gateway}) nor on this host's link`;
  };
}

function parseIpv6Bytes(host: string): Uint8Array {
  return parseCidr(`${withoutZone(host)}/128`).address.bytes;
}

/** This host's global IPv6 address toward the gateway; E_NO_IPV6 when it has none. */
async function hostAddressToward(gateway: string, iface: string): Promise<string> {
  if (classifyAddress(gateway) !== 'link-local') {
    const address = withoutZone(await localAddressToward(gateway));
    if (!unusableTargetReason(address)) return address;
  }
  // A link-local next hop (the usual case): the global address on the route's interface.
  const global = listInterfaces()
    .filter((candidate) => !iface || candidate.name === iface)
    .flatMap((candidate) => candidate.addresses)
    .find((address) => address.family === 6 && !['link-local', 'loopback', 'multicast'].includes(address.class));
  if (!global)
    throw new PortholeError('E_NO_IPV6', { detail: `no global IPv6 address on ${iface || 'any interface'}` });
  return global.address;
}

/** Finds the IPv6 default gateway and asks it for PCP and IGDv2 at once; throws E_NO_IPV6 without one. */
export async function discoverPinholeGateway(options: PinholeDiscoveryOptions = {}): Promise<PinholeGateway> {
  throwIfAborted(options.signal);
  const started = performance.now();
  const route = options.gateway
    ? { gateway: options.gateway, interface: '' }
    : (await defaultGateways(options)).find((candidate) => candidate.family === 6);
  if (!route) throw new PortholeError('E_NO_IPV6', { detail: 'this host has no IPv6 default route' });
  assertGatewayAllowed(withoutZone(route.gateway));
  const gateway =
    classifyAddress(route.gateway) === 'link-local' && !route.gateway.includes('%') && route.interface
      ? `${route.gateway}%${route.interface}`
      : route.gateway;
  const internalAddress = await hostAddressToward(gateway, route.interface);
  const pcpPort = options.pcpPort ?? NATPMP_PORT;
  const ssdpPort = options.ssdpPort ?? SSDP_PORT;
  const heard: { pcp?: { result: number; epoch: number }; location?: string; warnings: string[] } = { warnings: [] };
  const socket = createSocket('udp6');
  const deadline = withDeadline(
    options.signal,
    options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    `IPv6 gateway probe of ${gateway}`,
  );
  let grace: NodeJS.Timeout | undefined;
  let resend: NodeJS.Timeout | undefined;
  await settleOnce<void>(
    options.signal,
    (done) => {
      deadline.addEventListener('abort', () => done(undefined), { once: true });
      socket.on('error', () => {});
      socket.on('message', (message, remote) => {
        if (withoutZone(remote.address) !== withoutZone(gateway)) return; // Only the gateway's answers count.
        try {
          if (remote.port === pcpPort) {
            // A NAT-PMP-only server answers PCP with "unsupported version" (version 0, result 1).
            if (message[0] === 0) heard.pcp ??= { result: 1, epoch: 0 };
            else {
              const answer = decodePcpResponse(message);
              if (answer.opcode === PCP_OP_ANNOUNCE) heard.pcp = { result: answer.result, epoch: answer.epoch };
            }
          } else if (remote.port === ssdpPort) {
            heard.location ??= decodeSsdpAnswer(message)?.location;
          }
        } catch (error) {
          heard.warnings.push(
            `ignored a datagram from [${remote.address}]:${remote.port}: ${(error as Error).message}`,
          );
          return;
        }
        if ((heard.pcp && heard.location) || (options.stopAtPcp && heard.pcp?.result === 0)) done(undefined);
        else grace ??= setTimeout(() => done(undefined), options.graceMs ?? DEFAULT_GRACE_MS);
      });
      const send = () => {
        if (!heard.pcp) socket.send(encodePcpAnnounce(internalAddress), pcpPort, gateway, () => {});
        if (!heard.location)
          socket.send(
            encodeMSearch(FIREWALL_SEARCH_TARGET, `[${withoutZone(gateway)}]:${ssdpPort}`),
            ssdpPort,
            gateway,
            () => {},
          );
      };
      socket.bind(0, () => {
        send();
        resend = setTimeout(send, RESEND_MS);
      });
    },
    () => {
      clearTimeout(grace);
      clearTimeout(resend);
      socket.close();
    },
  );
  throwIfAborted(options.signal);
  let upnp: PinholeGateway['upnp'];
  if (heard.location) {
    try {
      const answer = await igdRequest(heard.location, gateway, {
        method: 'GET',
        policy: onLinkRouterPolicy(internalAddress),
        localAddress: internalAddress,
        ...(options.signal ? { signal: options.signal } : {}),
      });
      const description = parseIgdDescription(answer.body, heard.location);
      upnp = {
        location: heard.location,
        ...(description.firewallControlUrl
          ? { firewallControlUrl: description.firewallControlUrl }
          : { error: 'the IGD has no WANIPv6FirewallControl service (not IGDv2, or IPv6 pinholes are off)' }),
      };
    } catch (error) {
      upnp = { location: heard.location, error: (error as Error).message };
    }
  }
  const protocols: MappingMethod[] = [];
  if (heard.pcp && heard.pcp.result !== 1) protocols.push('pcp');
  if (upnp?.firewallControlUrl) protocols.push('upnp');
  return {
    family: 6,
    address: gateway,
    interface: route.interface,
    internalAddress,
    protocols,
    ...(heard.pcp ? { pcp: heard.pcp } : {}),
    ...(upnp ? { upnp } : {}),
    ms: Math.round(performance.now() - started),
    warnings: heard.warnings,
  };
}

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
  options: PinholeDiscoveryOptions & { via?: MappingMethod } = {},
): Promise<{ gateway: PinholeGateway; mapping: Mapping; client: MappingClient; tried: string[] }> {
  const { via, ...discovery } = options;
  const quick = via === undefined || via === 'pcp';
  const gateway = await discoverPinholeGateway({ ...discovery, stopAtPcp: quick });
  try {
    return { gateway, ...(await openPinhole(gateway, request, { ...discovery, ...(via ? { via } : {}) })) };
  } catch (error) {
    if (via !== undefined || gateway.upnp !== undefined || options.signal?.aborted) throw error;
    const full = await discoverPinholeGateway(discovery);
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
      if (!client) throw new Error(`the gateway no longer speaks ${record.method}`);
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
