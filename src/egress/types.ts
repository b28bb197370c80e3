/** The contracts of src/egress: what a sweep dials, and what it finds for each port. */
import type { PortEntry, Transport } from '../net/index.js';

/** The verdict on one port. */
export type EgressState = 'allowed' | 'blocked' | 'intercepted' | 'untested';

/** One port's result. */
export interface EgressResult {
  /** The address dialled. */
  readonly host: string;
  /** The DNS name the address came from, for manifest hosts. */
  readonly name?: string;
  /** The manifest entry the port belongs to. */
  readonly entry?: string;
  readonly port: number;
  readonly protocol: Transport;
  readonly state: EgressState;
  /**
   * Why: `signed` (answer signed by the service's key), `nonce` (our nonce came back; no key
   * to check), `handshake` (a named host accepted; it is not a porthole listener), `refused`,
   * `timeout`, `unreachable`, `foreign-answer`, `no-answer`, `closed`, `answers-for-anyone` (a
   * handshake where the canary on the same port answered too: canary.ts); plan.ts adds the DNS
   * verdicts (`no-such-name`, `dns-no-answer`, `names-resolve`, `resolver-silent`, ...).
   */
  readonly reason: string;
  /** Time from the attempt to its verdict, milliseconds (of the last attempt). */
  readonly ms: number;
  readonly attempts: number;
}

/** What to dial: one address and its ports. */
export interface SweepTarget {
  readonly host: string;
  readonly name?: string;
  readonly entry?: string;
  readonly entries: readonly PortEntry[];
  /** `banner`: a porthole egress listener answers; `connect`: any server (manifest hosts). */
  readonly handshake: 'banner' | 'connect';
  /**
   * A canary (canary.ts): its answers are not the network's round trip (a proxy next door
   * answers at once), so they do not teach the timing.
   */
  readonly canary?: boolean;
}
