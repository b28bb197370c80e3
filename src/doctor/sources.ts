/**
 * What the doctor needs from the run it is part of (the library's run session satisfies this):
 * the host, the gateway discovered once for the whole run, and two ways to speak while it works:
 * the steps it takes (progress) and what a check had to change (never silent).
 */
import type { GatewayInfo } from '../gateway/index.js';
import type { Host } from '../host/index.js';

/** The doctor's steps, by hop: what the page and the terminal show as "checking…". */
export type StepName =
  | 'host'
  | 'gateway'
  | 'mappings'
  | 'nat'
  | 'outside-in'
  | 'name'
  | 'egress'
  | 'multicast'
  | 'hairpin';

/** A step started or ended. */
export interface StepEvent {
  readonly kind: 'step';
  readonly step: StepName;
  readonly state: 'started' | 'done' | 'failed' | 'skipped';
  /** What it is doing or found, in a few plain words. */
  readonly label: string;
  readonly ms?: number;
}

/**
 * Something a diagnosis changed on the router or the host, and why. A diagnosis changes nothing
 * unless it must to answer (PCP and NAT-PMP cannot read a mapping: only renewing it asks), and then
 * it says so here, in the report and its JSON.
 */
export interface Change {
  readonly on: 'router' | 'host';
  /** What was done: "renewed porthole's PCP mapping of 7005/tcp". */
  readonly what: string;
  /** Why it was needed. */
  readonly why: string;
  /** What it showed, when it showed something (the router had lost the mapping). */
  readonly found?: string;
}

/** The run the doctor is part of. */
export interface FactSources {
  readonly host: Host;
  /** The gateway of the default route, discovered once per run (E_NO_GATEWAY without one). */
  gateway(): Promise<GatewayInfo>;
  /** Every IPv4 gateway, from the same discovery. */
  gateways(): Promise<readonly GatewayInfo[]>;
  step(event: StepEvent): void;
  changed(change: Change): void;
  /**
   * The router in front of this one (double NAT), asked at `address` with `inner`'s WAN address as
   * the client. Absent: the doctor does not ask it.
   */
  outerGateway?(address: string, inner: GatewayInfo): Promise<GatewayInfo>;
}
