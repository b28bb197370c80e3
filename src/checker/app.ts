/**
 * The check service as a Fastify app, built but not listening (tests inject requests): one
 * error handler (httpErrors.ts) and the route plugins, by responsibility: the check routes
 * (GET /v1/ip, POST /v1/check), the page, the egress routes and /metrics. It probes only the
 * caller's own address, never a target named in the request.
 */
import type { KeyObject } from 'node:crypto';
import rateLimit from '@fastify/rate-limit';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { PortholeError } from '../errors/index.js';
import type { Cidr } from '../net/address.js';
import type { PortRange } from '../net/portSpec.js';
import { callerAddress } from './callerAddress.js';
import { checkRoutes } from './checkRoutes.js';
import { egressRoutes } from './egressRoutes.js';
import { answerErrors, SERVICE_AJV_OPTIONS } from './httpErrors.js';
import { type CheckerMetrics, createMetrics } from './metrics.js';
import { metricsRoute } from './metricsRoute.js';
import { answerPageCors } from './pageCors.js';
import type { PageFamilies } from './pageFamilies.js';
import { pageRoutes } from './pageRoutes.js';
import { publicServer } from './publicServer.js';
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

/** Builds the service. Call `.listen()` on the result to serve, or `.inject()` to test. */
export async function buildChecker(
  settings: Partial<CheckerOptions> = {},
  deps: CheckerDependencies = {},
): Promise<FastifyInstance> {
  const options = { ...DEFAULT_CHECKER_OPTIONS, ...settings };
  const metrics = deps.metrics ?? createMetrics();
  const app = Fastify({
    logger: options.logger,
    bodyLimit: options.bodyLimit,
    trustProxy: false,
    ajv: { customOptions: SERVICE_AJV_OPTIONS },
    serverFactory: publicServer,
  });
  const callerOf = (request: FastifyRequest) =>
    callerAddress(request.socket.remoteAddress ?? '0.0.0.0', request.headers['x-forwarded-for'], options.trustProxy);

  answerErrors(app, { onRefused: (error) => metrics.refused.inc({ reason: error.code }) });
  await app.register(rateLimit, {
    global: false,
    keyGenerator: callerOf,
    // The plugin throws what this returns; the error handler answers it with the registry's 429.
    errorResponseBuilder: (_request, context) => {
      return new PortholeError('E_RATE_LIMITED', {
        detail: `more than ${context.max} checks per minute`,
        hint: `Retry after ${context.after}.`,
      });
    },
  });
  // Before the routes: the hook must see /v1/ip and /v1/check.
  if (options.pageFamilies) answerPageCors(app, options.pageFamilies);
  await app.register(checkRoutes, { options, metrics, callerOf, store: deps.store });
  await app.register(pageRoutes, { families: options.pageFamilies });
  await app.register(egressRoutes, { egress: deps.egress });
  await app.register(metricsRoute, { metrics });
  return app;
}
