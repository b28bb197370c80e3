/** The fleet's contracts: what a front asks a vantage, what comes back, and what a client sees. */
import type { ProbeResult } from '../probe/index.js';

/** A check order as the front signs it: probe `target` on `ports`, nothing else. */
export interface CheckOrder {
  /** Unique per check; a re-sent order keeps it, so a vantage probes once and replays its answer. */
  readonly id: string;
  /** The caller's public address as the front saw it: the only address a vantage will probe. */
  readonly target: string;
  /** A port spec (`7001,7002/udp`). */
  readonly ports: string;
  /** The caller's proof key, base64, when its check listens with a proof. */
  readonly proofKey?: string;
  /** Per-port probe deadline the vantage uses. */
  readonly probeTimeoutMs: number;
  /** How often the vantage says it is still working (keeps the front's stall timer quiet). */
  readonly keepaliveMs: number;
  /** Milliseconds since the epoch; a vantage refuses an order past `expiresAt`. */
  readonly issuedAt: number;
  readonly expiresAt: number;
}

/** Who answered. */
export interface VantageIdentity {
  readonly name: string;
  readonly region: string;
}

/** A vantage's messages on an order's reply subject. */
export type VantageReply =
  | { readonly kind: 'accepted' | 'working'; readonly id: string; readonly vantage: VantageIdentity }
  | {
      readonly kind: 'result';
      readonly id: string;
      readonly vantage: VantageIdentity;
      readonly results: readonly ProbeResult[];
      readonly ms: number;
    }
  | {
      readonly kind: 'refused';
      readonly id: string;
      readonly vantage: VantageIdentity;
      readonly error: { readonly code: string; readonly message: string };
    };

/** A vantage's periodic health report. */
export interface VantageHeartbeat extends VantageIdentity {
  /** Milliseconds since the epoch when sent. */
  readonly at: number;
  /** Orders probed since start (each order once, however often it was sent). */
  readonly probed: number;
  /** Orders probing now. */
  readonly running: number;
  /** Orders refused since start (bad signature, expired, target not allowed, limits). */
  readonly refused: number;
  readonly version: string;
  /** How often it reports; the front calls it stale after three missed reports. */
  readonly intervalMs: number;
}

/**
 * What one vantage came to for a check: `answered` with results, `refused` with a reason, or
 * `unknown` when it did not answer in time. `unknown` is never read as closed.
 */
export interface VantageAnswer {
  readonly name: string;
  readonly region: string;
  readonly state: 'answered' | 'refused' | 'unknown';
  readonly results: readonly ProbeResult[];
  /** Why it is refused or unknown: `deadline`, `stalled`, an error code. */
  readonly reason?: string;
  readonly ms: number;
}

/** Reachability of a check across vantages. */
export type CombinedReachability = 'all' | 'some' | 'none' | 'unknown';

/** The combined verdict, per port and overall. */
export interface CombinedVerdict {
  /** Every answering vantage reached every port (`all`), some did, none did, or none answered. */
  readonly reachable: CombinedReachability;
  /** Answering vantages that reached every port. */
  readonly from: readonly string[];
  /** Answering vantages that did not reach some port. */
  readonly notFrom: readonly string[];
  /** Vantages without an answer (unknown or refused): neither reachable nor not. */
  readonly unknown: readonly string[];
  /** Whether answering vantages disagree on some port. */
  readonly disagree: boolean;
  readonly ports: readonly PortVerdict[];
  /** One sentence for a person. */
  readonly summary: string;
}

/** One port across vantages. */
export interface PortVerdict {
  readonly port: number;
  readonly protocol: 'tcp' | 'udp';
  readonly reachable: CombinedReachability;
  /** State per vantage name (`unknown` for a vantage without an answer). */
  readonly states: Readonly<Record<string, string>>;
  readonly from: readonly string[];
  readonly notFrom: readonly string[];
}

/** The front's answer to POST /v1/check. */
export interface FleetCheckResponse {
  readonly id: string;
  readonly target: string;
  readonly proof: boolean;
  /** Per port, the least reachable answered state: the single-checker shape, so old clients keep working. */
  readonly results: readonly ProbeResult[];
  readonly vantages: readonly VantageAnswer[];
  readonly combined: CombinedVerdict;
  readonly ms: number;
}
