/** The contracts of src/checker: the service's settings, what it is built with, and what its route plugins get. */
import type { KeyObject } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Cidr, PortRange } from '../net/index.js';
import type { CheckerMetrics } from './metrics.js';
import type { PageFamilies } from './pageFamilies.js';
import type { CheckStore } from './store.js';

/** Settings of a check service. */
export interface CheckerOptions {
  /** Non-public ranges that may be probed anyway (a lab's own ranges). */
  readonly allowTargets: readonly Cidr[];
  /** Proxies whose X-Forwarded-For is believed. */
  readonly trustProxy: readonly Cidr[];
  /** Ports one request may name. */
  readonly maxPorts: number;
  /** Check requests per caller per minute. */
  readonly rateLimitPerMinute: number;
  /** Checks one caller may have running at once. */
  readonly concurrencyPerCaller: number;
  /** Per-port probe deadline. */
  readonly probeTimeoutMs: number;
  /** Probes in flight for one request. */
  readonly probeConcurrency: number;
  /** Largest request body, bytes. */
  readonly bodyLimit: number;
  readonly version: string;
  /** Structured (pino) logs: false, or a level and where to write them (stderr, so stdout stays clean). */
  readonly logger: false | { level: string; stream?: NodeJS.WritableStream };
  /** The service's IPv4-only and IPv6-only URLs: the page asks both (pageFamilies.ts). */
  readonly pageFamilies?: PageFamilies | undefined;
}

/** Defaults that suit a public service on a small machine. */
export const DEFAULT_CHECKER_OPTIONS: CheckerOptions = {
  allowTargets: [],
  trustProxy: [],
  maxPorts: 64,
  rateLimitPerMinute: 30,
  concurrencyPerCaller: 2,
  probeTimeoutMs: 1500,
  probeConcurrency: 16,
  bodyLimit: 16 * 1024,
  version: '0.0.0',
  logger: false,
};

/** What the app needs besides settings; tests pass their own. */
export interface CheckerDependencies {
  readonly store?: CheckStore;
  readonly metrics?: CheckerMetrics;
  /** The egress listener this service runs, described on GET /v1/egress and used by /egress. */
  readonly egress?: EgressDescription;
}

/** What the service tells clients about its egress listener. */
export interface EgressDescription {
  readonly address: string;
  readonly tcp: readonly PortRange[];
  readonly udp: readonly PortRange[];
  readonly publicKey: KeyObject;
}

/** What every route plugin of the check service is given. */
export interface CheckerRouteOptions {
  readonly options: CheckerOptions;
  readonly metrics: CheckerMetrics;
  /** The caller's address: the peer, or X-Forwarded-For when the peer is a trusted proxy. */
  readonly callerOf: (request: FastifyRequest) => string;
  readonly store?: CheckStore | undefined;
}
