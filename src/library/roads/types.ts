/**
 * The Road interface: one shape for every way expose can make a port reachable (a direct IPv4
 * mapping, an IPv6 pinhole, a tunnel through a relay, a mapping on both routers of a double NAT).
 * Expose walks a list of roads; adding a road is one new file beside this one and one entry in
 * the list (library/expose.ts).
 */
import type { DoctorOptions, DoctorReport } from '../../doctor/index.js';
import type { Mapping, MappingMethod } from '../../gateway/index.js';
import type { RoadName } from '../progress.js';
import type { RunSession } from '../session.js';

/** How expose reaches a relay. */
export interface RelaySettings {
  /** `ssh://USER[:TOKEN]@HOST[:PORT]`. */
  readonly url: string;
  /** porthole's data directory: its known_hosts pins the relay's host key. */
  readonly dataDir: string;
  /** Skip the other roads. */
  readonly only?: boolean;
  readonly proxyProtocol?: 'v1' | 'v2' | undefined;
  readonly identityFile?: string | undefined;
}

/** What expose is asked, as every road sees it. */
export interface ExposeRequest extends DoctorOptions {
  /** Open the host firewall for the manifest's inbound ports too (through the host interface). */
  readonly openFirewall?: boolean;
  /** Keep the road up until the run's signal aborts, then undo it. */
  readonly keep: boolean;
  /** Lifetime asked for each mapping, seconds. */
  readonly lifetimeSeconds: number;
  /** With keep: re-verify from outside this often, seconds. */
  readonly verifyEverySeconds: number;
  /** Map with this protocol only. */
  readonly via?: MappingMethod;
  /** A relay for when the direct roads cannot work (or, with `only`, instead of them). */
  readonly relay?: RelaySettings;
  /** IPv4 only, IPv6 only, or `auto` (IPv4 first, then IPv6 when IPv4 cannot work here). */
  readonly family?: 'ipv4' | 'ipv6' | 'auto';
  /** The checker's IPv6 URL, when the checker URL does not reach it over IPv6. */
  readonly checker6?: URL;
}

/** What a road made and can say, for the result and the person reading it. */
export interface RoadOutcome {
  /** `direct` (router mappings or pinholes) or `relay` (tunnels through the relay): the contract's `mode`. */
  readonly mode: 'direct' | 'relay';
  /** The address family users connect over. */
  readonly family: 4 | 6;
  readonly mappings: readonly Mapping[];
  readonly relays: readonly {
    readonly port: number;
    readonly publicAddress: string;
    readonly verified: boolean | null;
  }[];
  /** Mappings whose external port differs from the one asked for, said plainly. */
  readonly portChanges: readonly { readonly asked: number; readonly got: number; readonly protocol: string }[];
  readonly firewall: { readonly applied: boolean; readonly removed: boolean } | null;
  /** What to give users, once proven: `203.0.113.1:7001/tcp`, `[2001:db8::10]:7001`. */
  readonly give: readonly string[];
  /** Plain sentences about this road for the person (why it was taken, what users need). */
  readonly notes: readonly string[];
}

/** The report of one check of a road from outside: the doctor's, with the road's own findings. */
export type RoadReport = DoctorReport & { readonly ms: number };

/** A road that was opened: it can be checked from outside, kept, left in place, or closed. */
export interface OpenRoad {
  /** Checks the road from outside, with the doctor's findings (and the road's own). */
  verify(): Promise<RoadReport>;
  /**
   * Why this road cannot work here, judged from its report, when a road after it might (then
   * expose closes it and tries the next); undefined to stay on it.
   */
  closedBecause(report: RoadReport): string | undefined;
  /**
   * Keeps the road up until the run's signal aborts (renewals, re-made after a router restart,
   * re-verification, the relay's reconnects), saying each event as progress, then removes it.
   * Resolves with the last report.
   */
  keep(report: RoadReport): Promise<RoadReport>;
  /**
   * Leaves what was made in place by design (mappings without --keep, recorded for `porthole
   * unmap`); a road whose making cannot outlive the process (a tunnel) closes it here.
   */
  leave(): Promise<void>;
  /** Removes what the road made; what could not be removed stays held by the session (leftBehind). */
  close(): Promise<void>;
  /** What the road made, for the result, given its last report. */
  outcome(report: RoadReport, kept: boolean): RoadOutcome;
}

/** What a road is given: the run, the request, and the roads tried before it. */
export interface RoadContext {
  readonly session: RunSession;
  readonly request: ExposeRequest;
  /** The roads tried before this one, and why each was left (or not usable). */
  readonly before: readonly { readonly road: RoadName; readonly because: string; readonly report?: RoadReport }[];
}

/** One way to make the ports reachable. */
export interface Road {
  readonly name: RoadName;
  /** Whether the road can be tried now, and why not (nothing is changed to find out). */
  usable(context: RoadContext): Promise<{ readonly usable: true } | { readonly usable: false; readonly why: string }>;
  /**
   * Makes the road (mappings, pinholes, tunnels), each recorded in the session before it is asked.
   * On failure nothing the road made stays held, unless it could not be removed (then the session
   * reports it).
   */
  open(context: RoadContext): Promise<OpenRoad>;
}
