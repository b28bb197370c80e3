/**
 * Finding gateways in one short probe (Tailscale's netcheck way): from one UDP socket, at once,
 * a NAT-PMP external-address request and a PCP ANNOUNCE to the default gateway, and an SSDP
 * M-SEARCH unicast to the gateway and multicast. We answer as soon as every protocol has spoken,
 * or a short grace after the first one has — never a fixed two-second wait — and then fetch
 * the IGD description. Replies from any address but the gateway's are ignored.
 */
import { type AbortOptions, throwIfAborted } from '../deadline/index.js';
import { PortholeError } from '../errors/index.js';
import { cidrContains, classifyAddress, defaultGateways, isIpLiteral, parseCidrList, parseIp } from '../net/index.js';
import { localAddressToward } from './candidates.js';
import { runGatewayRound } from './gatewayRound.js';
import { type IgdDescription, parseIgdDescription } from './igdDescription.js';
import { type AddressPolicy, gatewayOnly, igdRequest } from './igdHttp.js';
import { NATPMP_PORT } from './natpmp.js';
import { decodeNatpmpResponse, encodeNatpmpExternalAddressRequest } from './natpmpCodec.js';
import { decodePcpResponse, encodePcpAnnounce, PCP_OP_ANNOUNCE } from './pcpCodec.js';
import {
  decodeSsdpAnswer,
  encodeMSearch,
  IGD_SEARCH_TARGETS,
  SSDP_ADDRESS,
  SSDP_PORT,
  type SsdpAnswer,
} from './ssdpCodec.js';
import type { MappingMethod } from './types.js';

/** What a gateway speaks, with the evidence. */
export interface GatewayInfo {
  readonly address: string;
  readonly interface: string;
  readonly internalAddress: string;
  readonly protocols: readonly MappingMethod[];
  /** The external address the gateway reports (UPnP or NAT-PMP), if any. */
  readonly externalIp: string | undefined;
  readonly natpmp?: { readonly result: number; readonly epoch: number; readonly externalIp?: string };
  readonly pcp?: { readonly result: number; readonly epoch: number };
  readonly upnp?: {
    readonly location: string;
    readonly server: string;
    readonly description?: IgdDescription;
    readonly error?: string;
  };
  /** Time the probe took, ms. */
  readonly ms: number;
  /** Undecodable or refused answers, for --verbose. */
  readonly warnings: readonly string[];
  /** The NAT-PMP/PCP port it answered on, when not the standard 5351 (tests' loopback routers). */
  readonly natpmpPort?: number;
  /** The SSDP port it answered on, when not the standard 1900 (tests' loopback routers). */
  readonly ssdpPort?: number;
  /** Which URLs of it may be fetched, when discovery was told (tests on loopback); production uses the gateway-only rule. */
  readonly policy?: AddressPolicy;
  /**
   * The address its NAT-PMP/PCP answers come from, when not the gateway's own (a router answering
   * from its other LAN address): its clients accept answers from there too.
   */
  readonly answersFrom?: string;
}

/** Options for discovery. */
export interface DiscoveryOptions extends AbortOptions {
  /** Wait after the first answer for the others (ms). */
  readonly graceMs?: number;
  /** Give up on silent protocols after this long (ms). */
  readonly timeoutMs?: number;
  /** Overrides for tests: the gateway and ports to ask. */
  readonly gateway?: string;
  readonly natpmpPort?: number;
  readonly ssdpPort?: number;
  /** Also send the multicast M-SEARCH (off in tests on loopback). */
  readonly multicast?: boolean;
  /** Which description URLs may be fetched: tests on loopback relax it; production never does. */
  readonly policy?: AddressPolicy;
  /**
   * Stop as soon as this holds for what has been heard, without waiting out the grace: `map`
   * stops at the first PCP or NAT-PMP answer, since it would not use UPnP then anyway.
   */
  readonly enough?: (heard: { natpmp: boolean; pcp: boolean; pcpAnswered: boolean; upnp: boolean }) => boolean;
}

/**
 * Wait after the first answer. miniupnpd answers a unicast M-SEARCH after a fixed ~50 ms (its
 * anti-flood delay; measured in the lab) while NAT-PMP answers in a millisecond, so 100 ms lets
 * UPnP catch up without a fixed long wait.
 */
const DEFAULT_GRACE_MS = 100;
const DEFAULT_TIMEOUT_MS = 1000;

interface Heard {
  natpmp?: { result: number; epoch: number; externalIp?: string };
  pcp?: { result: number; epoch: number };
  ssdp?: SsdpAnswer;
  warnings: string[];
}

async function probeOne(gateway: string, iface: string, options: DiscoveryOptions): Promise<GatewayInfo> {
  const started = performance.now();
  const internalAddress = await localAddressToward(gateway);
  const natpmpPort = options.natpmpPort ?? NATPMP_PORT;
  const ssdpPort = options.ssdpPort ?? SSDP_PORT;
  const heard: Heard = { warnings: [] };
  let answersFrom: string | undefined;
  // A caller whose `enough` every other protocol together cannot satisfy wants UPnP only.
  const needsUpnp = options.enough
    ? !options.enough({ natpmp: true, pcp: true, pcpAnswered: true, upnp: false })
    : false;
  const warnings = await runGatewayRound({
    family: 4,
    gateway,
    label: `gateway probe of ${gateway}`,
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    graceMs: options.graceMs ?? DEFAULT_GRACE_MS,
    ...(options.signal ? { signal: options.signal } : {}),
    complete: () =>
      Boolean(
        (heard.natpmp && heard.pcp && heard.ssdp) ||
          options.enough?.({
            natpmp: heard.natpmp?.result === 0,
            pcp: heard.pcp?.result === 0,
            pcpAnswered: heard.pcp !== undefined,
            upnp: heard.ssdp !== undefined,
          }),
      ),
    // The grace starts at an answer that can be used: a refusal must not cut short a late SSDP
    // answer, and neither must NAT-PMP's when the caller can only use UPnP (`map --via upnp`).
    usable: () =>
      needsUpnp
        ? heard.ssdp !== undefined
        : heard.natpmp?.result === 0 || heard.pcp?.result === 0 || heard.ssdp !== undefined,
    // Some routers answer NAT-PMP/PCP from another of their LAN addresses than the one asked (the
    // address on another bridge, or their primary). Counted only from the NAT-PMP/PCP port and from
    // a private or link-local address, and said as a warning.
    alsoFrom: (address, port) => {
      if (port !== natpmpPort || !isIpLiteral(address)) return false;
      const kind = classifyAddress(address);
      // Loopback only for a loopback gateway: the tests' fake router answers from 127.0.0.2.
      const lan =
        kind === 'private' || kind === 'link-local' || (kind === 'loopback' && classifyAddress(gateway) === 'loopback');
      if (!lan) return false;
      if (answersFrom === undefined) {
        answersFrom = address;
        heard.warnings.push(`NAT-PMP/PCP answered from ${address}, not from ${gateway} where it was asked`);
      }
      return address === answersFrom;
    },
    hear: (message, port) => {
      if (port === natpmpPort && message[0] === 0) {
        const answer = decodeNatpmpResponse(message);
        // A NAT-PMP "unsupported version" to our PCP packet says: no PCP here.
        if (answer.kind === 'error' && answer.result === 1 && !heard.pcp)
          heard.pcp = { result: 1, epoch: answer.epoch };
        else if (answer.kind === 'external-address')
          heard.natpmp = {
            result: answer.result,
            epoch: answer.epoch,
            ...(answer.result === 0 ? { externalIp: answer.externalIp } : {}),
          };
      } else if (port === natpmpPort) {
        const answer = decodePcpResponse(message);
        if (answer.opcode === PCP_OP_ANNOUNCE) heard.pcp = { result: answer.result, epoch: answer.epoch };
      } else if (port === ssdpPort) {
        const answer = decodeSsdpAnswer(message);
        if (answer && !heard.ssdp) heard.ssdp = answer;
      }
    },
    send: (socket) => {
      if (!heard.natpmp) socket.send(encodeNatpmpExternalAddressRequest(), natpmpPort, gateway);
      if (!heard.pcp) socket.send(encodePcpAnnounce(internalAddress), natpmpPort, gateway);
      if (!heard.ssdp) {
        for (const target of IGD_SEARCH_TARGETS.slice(0, 3)) {
          socket.send(encodeMSearch(target, `${gateway}:${ssdpPort}`), ssdpPort, gateway);
          if (options.multicast ?? true) socket.send(encodeMSearch(target), SSDP_PORT, SSDP_ADDRESS, () => {});
        }
      }
    },
  });
  heard.warnings.push(...warnings);

  let upnp: GatewayInfo['upnp'];
  if (heard.ssdp) {
    const location = atGateway(heard.ssdp.location, gateway, heard.warnings);
    try {
      const answer = await igdRequest(location, gateway, {
        method: 'GET',
        policy: options.policy ?? gatewayOnly,
        ...(options.signal ? { signal: options.signal } : {}),
      });
      const description = parseIgdDescription(answer.body, location);
      upnp = {
        location: heard.ssdp.location,
        server: heard.ssdp.server,
        description: {
          ...description,
          services: description.services.map((service) => ({
            ...service,
            controlUrl: atGateway(service.controlUrl, gateway, heard.warnings),
          })),
        },
      };
    } catch (error) {
      upnp = { location: heard.ssdp.location, server: heard.ssdp.server, error: (error as Error).message };
    }
  }
  const protocols: MappingMethod[] = [];
  if (upnp?.description && upnp.description.services.length > 0) protocols.push('upnp');
  if (heard.natpmp) protocols.push('natpmp');
  if (heard.pcp && heard.pcp.result !== 1) protocols.push('pcp');
  return {
    address: gateway,
    interface: iface,
    internalAddress,
    protocols,
    externalIp: heard.natpmp?.externalIp,
    ...(heard.natpmp ? { natpmp: heard.natpmp } : {}),
    ...(heard.pcp ? { pcp: heard.pcp } : {}),
    ...(upnp ? { upnp } : {}),
    ms: Math.round(performance.now() - started),
    warnings: heard.warnings,
    ...(natpmpPort !== NATPMP_PORT ? { natpmpPort } : {}),
    ...(ssdpPort !== SSDP_PORT ? { ssdpPort } : {}),
    ...(options.policy ? { policy: options.policy } : {}),
    ...(answersFrom ? { answersFrom } : {}),
  };
}

/**
 * A router URL that names a host (`http://router.lan:5000/rootDesc.xml`, some ISP boxes, or a
 * URLBase with the router's name), or an address that cannot be the router's (loopback), is asked
 * at the gateway's address instead, its port and path kept: porthole never resolves a name a router
 * gives (a hostile device could name anything), and the description came from the gateway. Said as
 * a warning.
 */
export function atGateway(url: string, gateway: string, warnings: string[]): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url;
  }
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  // A literal address is kept, unless it cannot be the router's: loopback or unspecified (a TP-Link
  // miniupnpd 1.8 answered LOCATION http://[::1]:1900/rootDesc.xml; home-assistant/core#57052).
  if (isIpLiteral(host) && !['loopback', 'unspecified'].includes(classifyAddress(host))) return url;
  if (isIpLiteral(host) && classifyAddress(gateway) === 'loopback') return url;
  parsed.hostname = gateway.includes(':') ? `[${gateway}]` : gateway;
  const warning = `the router's URL names ${isIpLiteral(host) ? '' : 'the host '}"${host}": asked at ${gateway} instead (${parsed.href})`;
  if (!warnings.includes(warning)) warnings.push(warning);
  return parsed.href;
}

/**
 * Test runs set PORTHOLE_ONLY_GATEWAYS (CIDRs) to the lab's LAN: discovery then refuses any
 * other gateway, so a test can never probe the network of the machine it runs on.
 */
export function assertGatewayAllowed(gateway: string): void {
  const only = process.env.PORTHOLE_ONLY_GATEWAYS;
  if (!only) return;
  const address = parseIp(gateway);
  if (!parseCidrList(only).some((cidr) => cidrContains(cidr, address))) {
    throw new PortholeError('E_PERMISSION', {
      detail: `gateway ${gateway} is outside PORTHOLE_ONLY_GATEWAYS (${only}); this run may only probe the lab`,
    });
  }
}

/** Probes every IPv4 default gateway of this host at once; an empty list means no default route. */
export async function discoverGateways(options: DiscoveryOptions = {}): Promise<GatewayInfo[]> {
  throwIfAborted(options.signal);
  const routes = options.gateway
    ? [{ gateway: options.gateway, interface: '' }]
    : (await defaultGateways(options)).filter((route) => route.family === 4);
  const unique = [...new Map(routes.map((route) => [route.gateway, route])).values()];
  for (const route of unique) assertGatewayAllowed(route.gateway);
  return Promise.all(unique.map((route) => probeOne(route.gateway, route.interface, options)));
}
