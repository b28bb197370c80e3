/**
 * What `porthole expose` is asked and answers, shared by its three roads (direct IPv4 mappings,
 * IPv6 pinholes, the relay): the options, the result, and the mapping requests a manifest makes.
 */
import type { Mapping, MappingMethod } from '../gateway/index.js';
import type { ManifestEntry } from '../manifest/types.js';
import type { DoctorOptions } from './facts.js';
import type { DoctorReport } from './judge.js';
import type { RelaySettings } from './relayRoad.js';

/** What expose is asked. */
export interface ExposeOptions extends DoctorOptions {
  /** Open the host firewall with this backend (only nftables applies). */
  readonly firewall?: 'nftables';
  readonly keep: boolean;
  /** Lifetime asked for each mapping, seconds. */
  readonly lifetimeSeconds: number;
  /** With keep: re-verify this often, seconds. */
  readonly verifyEverySeconds: number;
  /** Map with this protocol only. */
  readonly via?: MappingMethod;
  /** Status lines while keeping (renewals, restarts, re-verifications). */
  readonly onStatus?: (status: Record<string, unknown>) => void;
  /** A relay for when the direct road cannot work (or with `only`, instead of it). */
  readonly relay?: RelaySettings;
  /**
   * IPv4 only, IPv6 only (a pinhole in the router's IPv6 firewall), or `auto` (default): IPv4 first,
   * and IPv6 when the IPv4 road cannot work here (carrier NAT, most often) and this host has a
   * global IPv6 address.
   */
  readonly family?: 'ipv4' | 'ipv6' | 'auto';
  /** The checker's IPv6 URL, when the checker URL does not reach it over IPv6. */
  readonly checker6?: URL;
}

/** What expose did. */
export interface ExposeResult extends DoctorReport {
  readonly mappings: readonly Mapping[];
  /** Mappings whose external port differs from the port asked for (taken, or refused), said plainly. */
  readonly portChanges: readonly { readonly asked: number; readonly got: number; readonly protocol: string }[];
  /** What could not be removed on the way out (with why): still on the router until its lease ends. */
  readonly leftBehind: readonly { readonly mapping: Mapping; readonly why: string }[];
  readonly firewall: { readonly applied: boolean; readonly removed: boolean } | null;
  readonly kept: boolean;
  readonly ms: number;
  /** `direct` (router mappings) or `relay` (tunnels through the relay). */
  readonly mode: 'direct' | 'relay';
  /** The tunnels, in relay mode: the address to give users for each port, and its proof. */
  readonly relays: readonly {
    readonly port: number;
    readonly publicAddress: string;
    readonly verified: boolean | null;
  }[];
  /** Why the direct road was left for the relay (the causes the doctor found, or the mapping error). */
  readonly relayBecause?: string;
  /** The address family of the road taken (6: an IPv6 pinhole, the address in brackets). */
  readonly family: 4 | 6;
  /** Why IPv4 was left for IPv6. */
  readonly ipv6Because?: string;
}

/** One mapping request per exposed entry and transport; a range asks for its first free port. */
export function requestsOf(entries: readonly ManifestEntry[]) {
  return entries
    .filter((entry) => entry.direction === 'inbound' && entry.expose)
    .flatMap((entry) =>
      entry.ports.map((range) => ({
        protocol: range.protocol,
        internalPort: range.start,
        ...(range.end > range.start ? { external: { start: range.start, end: range.end } } : {}),
        description: `porthole ${entry.name}`,
      })),
    );
}

/** The TCP ports expose would map: the first port of every exposed inbound entry's TCP ranges. */
export function exposedTcpPorts(options: ExposeOptions): number[] {
  return requestsOf(options.manifest.entries)
    .filter((request) => request.protocol === 'tcp')
    .map((request) => request.internalPort);
}

/**
 * A road's result: what every road says the same way (no port changes, nothing left behind, no
 * firewall) unless the road gives it.
 */
export function roadResult(
  report: DoctorReport,
  road: Pick<ExposeResult, 'mode' | 'family' | 'kept'> & Partial<ExposeResult>,
  started: number,
): ExposeResult {
  return {
    ...report,
    mappings: [],
    portChanges: [],
    leftBehind: [],
    firewall: null,
    relays: [],
    ...road,
    ms: Math.round(performance.now() - started),
  };
}

/** The same mapping (protocol, ports, gateway), whatever its lease. */
export function sameMapping(a: Mapping, b: Mapping): boolean {
  return (
    a.protocol === b.protocol &&
    a.externalPort === b.externalPort &&
    a.internalPort === b.internalPort &&
    a.gateway === b.gateway
  );
}
