/**
 * Finding the IPv6 gateway for pinholes, the way discovery.ts does for IPv4 (Tailscale's netcheck
 * way): from one UDP socket, at once, a PCP ANNOUNCE and a unicast SSDP M-SEARCH for the IPv6
 * firewall service to the IPv6 default gateway, then the IGD description for its control URL.
 * Answers from any other address are ignored; an undecodable datagram is a warning.
 */
import { type AbortOptions, throwIfAborted } from '../deadline/index.js';
import { PortholeError } from '../errors/index.js';
import {
  cidrContains,
  classifyAddress,
  defaultGateways,
  isIpLiteral,
  listInterfaces,
  parseCidr,
  unusableTargetReason,
} from '../net/index.js';
import { localAddressToward } from './candidates.js';
import { assertGatewayAllowed } from './discovery.js';
import { runGatewayRound, withoutZone } from './gatewayRound.js';
import { parseIgdDescription } from './igdDescription.js';
import { type AddressPolicy, igdRequest } from './igdHttp.js';
import { NATPMP_PORT } from './natpmp.js';
import { decodePcpResponse, encodePcpAnnounce, PCP_OP_ANNOUNCE } from './pcpCodec.js';
import { decodeSsdpAnswer, encodeMSearch, SSDP_PORT } from './ssdpCodec.js';
import type { MappingMethod } from './types.js';

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

/** An address without its IPv6 zone (`%eth0`), for comparing. */
export { withoutZone };

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
  const heard: { pcp?: { result: number; epoch: number }; location?: string } = {};
  const warnings = await runGatewayRound({
    family: 6,
    gateway,
    label: `IPv6 gateway probe of ${gateway}`,
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    graceMs: options.graceMs ?? DEFAULT_GRACE_MS,
    ...(options.signal ? { signal: options.signal } : {}),
    complete: () => Boolean((heard.pcp && heard.location) || (options.stopAtPcp && heard.pcp?.result === 0)),
    hear: (message, port) => {
      if (port === pcpPort) {
        // A NAT-PMP-only server answers PCP with "unsupported version" (version 0, result 1).
        if (message[0] === 0) heard.pcp ??= { result: 1, epoch: 0 };
        else {
          const answer = decodePcpResponse(message);
          if (answer.opcode === PCP_OP_ANNOUNCE) heard.pcp = { result: answer.result, epoch: answer.epoch };
        }
      } else if (port === ssdpPort) {
        heard.location ??= decodeSsdpAnswer(message)?.location;
      }
    },
    send: (socket) => {
      if (!heard.pcp) socket.send(encodePcpAnnounce(internalAddress), pcpPort, gateway, () => {});
      if (!heard.location)
        socket.send(
          encodeMSearch(FIREWALL_SEARCH_TARGET, `[${withoutZone(gateway)}]:${ssdpPort}`),
          ssdpPort,
          gateway,
          () => {},
        );
    },
  });
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
    warnings,
  };
}
