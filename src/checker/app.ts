/**
 * The check service as a Fastify app, built but not listening (tests inject requests):
 * GET /v1/ip, POST /v1/check, the page, and /metrics. It probes only the caller's own
 * address, never a target named in the request.
 */
import type { KeyObject } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import rateLimit from '@fastify/rate-limit';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { type errorRegistry, PortholeError } from '../errors/index.js';
import { type Cidr, cidrContains, isPublicUnicast, parseIp } from '../net/address.js';
import { countPorts, formatPortSpec, type PortRange, parsePortSpec, portEntries } from '../net/portSpec.js';
import { createProbeHold } from '../probe/hold.js';
import { probePorts } from '../probe/scan.js';
import { callerAddress } from './callerAddress.js';
import { egressPageCsp, egressPageHtml, egressPageScript } from './egressPage.js';
import { type CheckerMetrics, createMetrics } from './metrics.js';
import { checkPageHtml, checkPageScript, PAGE_CSP } from './page.js';
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

/** The HTTP status for each error code the service answers with. */
const STATUS: Partial<Record<keyof typeof errorRegistry, number>> = {
  E_CHECK_REQUEST: 400,
  E_PORT_SPEC: 400,
  E_TOO_MANY_PORTS: 400,
  E_TARGET_NOT_ALLOWED: 403,
  E_RATE_LIMITED: 429,
  E_NO_EGRESS_LISTENER: 404,
};

function errorBody(error: PortholeError) {
  return { error: error.toJSON() };
}

interface CheckBody {
  ports?: unknown;
  proof?: { key?: unknown };
  target?: unknown;
}

/** Reads the ports of a request body: a spec string, or a list of numbers and spec strings. */
function portsOf(body: CheckBody): string {
  const { ports } = body;
  if (typeof ports === 'string') return ports;
  if (typeof ports === 'number') return String(ports);
  if (Array.isArray(ports) && ports.every((item) => typeof item === 'string' || typeof item === 'number'))
    return ports.join(',');
  throw new PortholeError('E_CHECK_REQUEST', { detail: '"ports" must be a port spec string or a list of ports' });
}

function proofKeyOf(body: CheckBody): Buffer | undefined {
  if (body.proof === undefined) return undefined;
  const key = typeof body.proof?.key === 'string' ? Buffer.from(body.proof.key, 'base64') : undefined;
  if (!key || key.length < 16 || key.length > 64) {
    throw new PortholeError('E_CHECK_REQUEST', { detail: '"proof.key" must be 16 to 64 bytes in base64' });
  }
  return key;
}

/**
 * How long open probe connections stay up after the answer is sent: the caller reads its own
 * socket table when the answer arrives, so the connection must outlive the answer's trip.
 */
const HOLD_AFTER_ANSWER_MS = 1000;

/** Holds a request's open probe connections until its answer has gone out (src/probe/hold.ts). */
function holdUntilAnswered(response: ServerResponse): (socket: Socket) => void {
  const holder = createProbeHold();
  const release = () => holder.release(HOLD_AFTER_ANSWER_MS);
  response.once('finish', release);
  response.once('close', release);
  return holder.hold;
}

/** Builds the service. Call `.listen()` on the result to serve, or `.inject()` to test. */
export async function buildChecker(
  settings: Partial<CheckerOptions> = {},
  deps: CheckerDependencies = {},
): Promise<FastifyInstance> {
  const options = { ...DEFAULT_CHECKER_OPTIONS, ...settings };
  const metrics = deps.metrics ?? createMetrics();
  const app = Fastify({ logger: options.logger, bodyLimit: options.bodyLimit, trustProxy: false });
  const callerOf = (request: FastifyRequest) =>
    callerAddress(request.socket.remoteAddress ?? '0.0.0.0', request.headers['x-forwarded-for'], options.trustProxy);
  const running = new Map<string, number>();

  app.setErrorHandler((error, request, reply) => {
    const known =
      error instanceof PortholeError
        ? error
        : (error as { code?: string }).code === 'FST_ERR_CTP_BODY_TOO_LARGE'
          ? new PortholeError('E_CHECK_REQUEST', { detail: `the body is larger than ${options.bodyLimit} bytes` })
          : (error as { statusCode?: number }).statusCode === 400 ||
              (error as { statusCode?: number }).statusCode === 415
            ? new PortholeError('E_CHECK_REQUEST', { detail: error instanceof Error ? error.message : String(error) })
            : undefined;
    if (!known) {
      request.log.error({ err: error }, 'internal error');
      return reply.status(500).send(errorBody(new PortholeError('E_INTERNAL')));
    }
    const status =
      (error as { code?: string }).code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? 413 : (STATUS[known.code] ?? 400);
    metrics.refused.inc({ reason: known.code });
    return reply.status(status).send(errorBody(known));
  });

  await app.register(rateLimit, {
    global: false,
    keyGenerator: callerOf,
    // The plugin throws what this returns; the error handler above answers 429 for E_RATE_LIMITED.
    errorResponseBuilder: (_request, context) => {
      return new PortholeError('E_RATE_LIMITED', {
        detail: `more than ${context.max} checks per minute`,
        hint: `Retry after ${context.after}.`,
      });
    },
  });

  app.get('/v1/ip', async (request) => {
    const address = callerOf(request);
    return { address, family: parseIp(address).family };
  });

  app.post(
    '/v1/check',
    { config: { rateLimit: { max: options.rateLimitPerMinute, timeWindow: 60_000 } } },
    async (request, reply) => {
      const started = performance.now();
      const target = callerOf(request);
      const body = (request.body ?? {}) as CheckBody;
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        throw new PortholeError('E_CHECK_REQUEST', { detail: 'the body must be a JSON object' });
      }
      const ranges = parsePortSpec(portsOf(body));
      const count = countPorts(ranges);
      if (count > options.maxPorts) {
        throw new PortholeError('E_TOO_MANY_PORTS', { detail: `${count} ports asked, at most ${options.maxPorts}` });
      }
      const proofKey = proofKeyOf(body);
      const parsedTarget = parseIp(target);
      if (!isPublicUnicast(parsedTarget) && !options.allowTargets.some((cidr) => cidrContains(cidr, parsedTarget))) {
        throw new PortholeError('E_TARGET_NOT_ALLOWED', {
          detail: `${target} is not a public address`,
          data: { target },
        });
      }
      const inFlight = running.get(target) ?? 0;
      if (inFlight >= options.concurrencyPerCaller) {
        reply.header('retry-after', '1');
        throw new PortholeError('E_RATE_LIMITED', {
          detail: `${inFlight} checks from ${target} are still running`,
          hint: 'Retry after 1 second.',
        });
      }
      running.set(target, inFlight + 1);
      try {
        const results = await probePorts(target, [...portEntries(ranges)], {
          timeoutMs: options.probeTimeoutMs,
          concurrency: options.probeConcurrency,
          proofKey,
          hold: holdUntilAnswered(reply.raw),
        });
        for (const result of results) {
          metrics.probes.inc({ protocol: result.protocol, state: result.state });
          metrics.probeSeconds.observe({ protocol: result.protocol, state: result.state }, result.ms / 1000);
        }
        metrics.checks.inc({
          outcome: results.every((result) => result.state === 'open') ? 'all-open' : 'not-all-open',
        });
        deps.store?.record({ at: new Date(), caller: target, target, proof: proofKey !== undefined, results });
        request.log.info(
          { target, ports: count, states: results.map((r) => `${r.port}/${r.protocol}:${r.state}`) },
          'check',
        );
        return {
          target,
          checker: { version: options.version },
          proof: proofKey !== undefined,
          results,
          ms: Math.round(performance.now() - started),
          ...(body.target !== undefined
            ? { notes: ['"target" in the request is ignored: a checker only probes the caller'] }
            : {}),
        };
      } finally {
        const left = (running.get(target) ?? 1) - 1;
        if (left > 0) running.set(target, left);
        else running.delete(target);
      }
    },
  );

  app.get('/', async (_request, reply) =>
    reply.header('content-security-policy', PAGE_CSP).type('text/html; charset=utf-8').send(checkPageHtml()),
  );
  const script = checkPageScript();
  app.get('/assets/check.js', async (_request, reply) => reply.type('text/javascript; charset=utf-8').send(script));
  const egress = deps.egress;
  const egressBody = egress && {
    protocol: 'porthole-egress/1',
    address: egress.address,
    tcp: egress.tcp.length > 0 ? formatPortSpec(egress.tcp) : '',
    udp: egress.udp.length > 0 ? formatPortSpec(egress.udp) : '',
    publicKey: egress.publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
  };
  app.get('/v1/egress', async () => {
    if (!egressBody) throw new PortholeError('E_NO_EGRESS_LISTENER');
    return egressBody;
  });
  const egressScript = egressPageScript();
  app.get('/egress', async (_request, reply) => {
    if (!egress) throw new PortholeError('E_NO_EGRESS_LISTENER');
    return reply
      .header('content-security-policy', egressPageCsp(egress.address))
      .type('text/html; charset=utf-8')
      .send(egressPageHtml());
  });
  app.get('/assets/egress.js', async (_request, reply) =>
    reply.type('text/javascript; charset=utf-8').send(egressScript),
  );
  app.get('/metrics', async (_request, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );
  return app;
}
