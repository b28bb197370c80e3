/**
 * The front: the single checker's HTTP API (`POST /v1/check`, `GET /v1/ip`) over a fleet.
 * It pins the target to the caller's address, counts the caller in the shared KV limits,
 * signs the order, scatters it to the asked vantages and gathers their answers; each check is
 * recorded once, by id, in a KV bucket every front shares. Several fronts can stand behind one
 * load balancer: no state that matters lives in a front.
 */

import type { KeyObject } from 'node:crypto';
import { randomUUID } from 'node:crypto';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { type AbortOptions, throwIfAborted } from '../deadline/index.js';
import { PortholeError } from '../errors/index.js';
import {
  bindError,
  type Cidr,
  callerAddress,
  cidrContains,
  countPorts,
  formatPortSpec,
  isPublicUnicast,
  parseIp,
  parsePortSpec,
} from '../net/index.js';
import {
  answerErrors,
  type CheckBody,
  checkBodySchema,
  portSpecOf,
  proofKeyOf,
  publicServer,
  SERVICE_AJV_OPTIONS,
} from '../service/index.js';
import { decodeHeartbeat, encodeSignedOrder } from './codec.js';
import { connectFleet, type NatsSettings } from './connection.js';
import { gather } from './gather.js';
import { judgeVantages, leastReachableResults } from './judge.js';
import { type CallerLimiter, kvLimiter, LIMIT_WINDOW_MS, localLimiter } from './limits.js';
import { parseVantageSelector } from './request.js';
import { Roster } from './roster.js';
import { CHECKS_BUCKET, DISCOVER_SUBJECT, HEALTH_WILDCARD, LIMITS_BUCKET } from './subjects.js';
import type { CheckOrder, FleetCheckResponse } from './types.js';

/** A front's settings. */
export interface FrontOptions {
  readonly nats: NatsSettings;
  /** The Ed25519 private key orders are signed with. */
  readonly signingKey: KeyObject;
  readonly host: string;
  readonly port: number;
  readonly trustProxy?: readonly Cidr[];
  /** Non-public ranges that may be checked anyway (a lab's own); vantages apply their own list too. */
  readonly allowTargets?: readonly Cidr[];
  readonly maxPorts?: number;
  readonly rateLimitPerMinute?: number;
  readonly concurrencyPerCaller?: number;
  readonly probeTimeoutMs?: number;
  /** Every vantage settles (answer or unknown) by then. */
  readonly deadlineMs?: number;
  /** Silence from a vantage after which the order is sent again (three: unknown). */
  readonly stallMs?: number;
  /** How long each check's record stays in the shared bucket. */
  readonly retentionDays?: number;
  readonly version?: string;
  readonly logger?: false | { level: string; stream?: NodeJS.WritableStream };
}

/** A running front. */
export interface RunningFront {
  readonly url: string;
  /** Whether limits and records are shared through JetStream KV (false: per front). */
  readonly shared: boolean;
  readonly roster: Roster;
  close(): Promise<void>;
}

const DEFAULTS = {
  maxPorts: 64,
  rateLimitPerMinute: 30,
  concurrencyPerCaller: 2,
  probeTimeoutMs: 1500,
  deadlineMs: 15_000,
  stallMs: 1_000,
  retentionDays: 30,
  version: '0.0.0',
};

/** What the HTTP app needs from the fleet. */
export interface FrontDependencies {
  readonly nc: NatsConnection;
  readonly roster: Roster;
  readonly limiter: CallerLimiter;
  /** Records a check once by id; undefined when there is nowhere shared to record. */
  readonly record?: (id: string, check: FleetCheckResponse & { caller: string; at: string }) => Promise<void>;
}

/** Builds the front's HTTP app (not listening). */
export async function buildFront(options: FrontOptions, deps: FrontDependencies): Promise<FastifyInstance> {
  const settings = { ...DEFAULTS, ...options };
  const app = Fastify({
    logger: settings.logger ?? false,
    bodyLimit: 16 * 1024,
    trustProxy: false,
    ajv: { customOptions: SERVICE_AJV_OPTIONS },
    serverFactory: publicServer,
  });
  const trustProxy = settings.trustProxy ?? [];
  const allowTargets = settings.allowTargets ?? [];
  const callerOf = (request: FastifyRequest) =>
    callerAddress(request.socket.remoteAddress ?? '0.0.0.0', request.headers['x-forwarded-for'], trustProxy);
  const running = new Map<string, number>();

  answerErrors(app);

  app.get('/v1/ip', async (request) => {
    const address = callerOf(request);
    return { address, family: parseIp(address).family };
  });

  app.get('/v1/vantages', async () => ({
    vantages: deps.roster.entries().map((entry) => ({ ...entry.heartbeat, seenAt: entry.seenAt, stale: entry.stale })),
  }));

  // The single checker's body, refused by the same schema before the route runs.
  app.post<{ Body: CheckBody }>('/v1/check', { schema: { body: checkBodySchema } }, async (request) => {
    const started = performance.now();
    const target = callerOf(request);
    const body = request.body;
    const query = request.query as { vantage?: unknown };
    const selector = parseVantageSelector(query.vantage);
    const ranges = parsePortSpec(portSpecOf(body));
    const count = countPorts(ranges);
    if (count > settings.maxPorts) {
      throw new PortholeError('E_TOO_MANY_PORTS', { detail: `${count} ports asked, at most ${settings.maxPorts}` });
    }
    const proofKey = proofKeyOf(body)?.toString('base64');
    // The single checker's rule, before anything is sent: a caller with a non-public address is refused here.
    const parsedTarget = parseIp(target);
    if (!isPublicUnicast(parsedTarget) && !allowTargets.some((cidr) => cidrContains(cidr, parsedTarget))) {
      throw new PortholeError('E_TARGET_NOT_ALLOWED', {
        detail: `${target} is not a public address`,
        data: { target },
      });
    }
    const inFlight = running.get(target) ?? 0;
    if (inFlight >= settings.concurrencyPerCaller) {
      throw new PortholeError('E_RATE_LIMITED', {
        detail: `${inFlight} checks from ${target} are still running`,
        data: { retryAfter: 1 },
      });
    }
    await deps.limiter.take(target);
    running.set(target, inFlight + 1);
    try {
      const id = randomUUID();
      const now = Date.now();
      const order: CheckOrder = {
        id,
        target,
        ports: formatPortSpec(ranges),
        ...(proofKey ? { proofKey } : {}),
        probeTimeoutMs: settings.probeTimeoutMs,
        keepaliveMs: Math.max(100, Math.floor(settings.stallMs / 3)),
        issuedAt: now,
        expiresAt: now + settings.deadlineMs,
      };
      const vantages = await gather(
        deps.nc,
        id,
        encodeSignedOrder(order, settings.signingKey),
        deps.roster.targets(selector),
        { deadlineMs: settings.deadlineMs, stallMs: settings.stallMs },
      );
      const answered = vantages.some((vantage) => vantage.state === 'answered');
      if (!answered && query.vantage === undefined) {
        throw new PortholeError('E_FLEET_NO_VANTAGE', {
          detail:
            vantages.length === 0
              ? 'no vantage is known yet'
              : vantages.map((v) => `${v.name}: ${v.reason}`).join(', '),
        });
      }
      const response: FleetCheckResponse = {
        id,
        target,
        proof: proofKey !== undefined,
        results: leastReachableResults(vantages),
        vantages,
        combined: judgeVantages(vantages),
        ms: Math.round(performance.now() - started),
      };
      request.log.info({ id, target, ports: count, combined: response.combined.summary }, 'fleet check');
      // The answer does not wait for the record; a failed record is logged, never a failed check.
      void deps
        .record?.(id, { ...response, caller: target, at: new Date(now).toISOString() })
        .catch((error: unknown) => {
          request.log.warn({ err: error, id }, 'check not recorded');
        });
      return { ...response, checker: { version: settings.version, fleet: true } };
    } finally {
      const left = (running.get(target) ?? 1) - 1;
      if (left > 0) running.set(target, left);
      else running.delete(target);
    }
  });
  return app;
}

/** Connects to NATS, learns the fleet, opens the shared buckets and listens. */
export async function startFront(options: FrontOptions, abort: AbortOptions = {}): Promise<RunningFront> {
  throwIfAborted(abort.signal);
  const nc = await connectFleet(options.nats, abort);
  const roster = new Roster();
  let app: FastifyInstance | undefined;
  try {
    nc.subscribe(HEALTH_WILDCARD, {
      callback: (_error, msg) => {
        try {
          roster.heard(decodeHeartbeat(msg.data));
        } catch {
          // A malformed heartbeat is ignored: it names no vantage we could use.
        }
      },
    });
    await nc.flush();
    nc.publish(DISCOVER_SUBJECT);
    const perMinute = options.rateLimitPerMinute ?? DEFAULTS.rateLimitPerMinute;
    let limiter: CallerLimiter;
    let record: FrontDependencies['record'];
    let shared = true;
    try {
      const kvm = new Kvm(nc);
      // Counts live a minute: memory storage spares nats-server a disk write per check.
      const limits = await kvm.create(LIMITS_BUCKET, { history: 1, ttl: 2 * LIMIT_WINDOW_MS, storage: 'memory' });
      const checks = await kvm.create(CHECKS_BUCKET, {
        history: 1,
        ttl: (options.retentionDays ?? DEFAULTS.retentionDays) * 86_400_000,
      });
      limiter = kvLimiter(limits, perMinute, localLimiter(perMinute));
      // create() refuses a key that exists: a check is recorded once, whichever front tries twice.
      record = async (id, check) => {
        await checks.create(id, JSON.stringify(check));
      };
    } catch (error) {
      // Without JetStream the front still works, with limits of its own: say so loudly.
      shared = false;
      limiter = localLimiter(perMinute);
      process.emitWarning(
        `NATS JetStream is not available (${(error as Error).message}): rate limits are per front and checks are not recorded`,
      );
    }
    app = await buildFront(options, { nc, roster, limiter, ...(record ? { record } : {}) });
    let url: string;
    try {
      url = await app.listen({ host: options.host, port: options.port });
    } catch (error) {
      throw bindError(error, `${options.host}:${options.port}`);
    }
    const listening = app;
    return {
      url,
      shared,
      roster,
      close: async () => {
        await listening.close();
        await nc.drain().catch(() => nc.close());
      },
    };
  } catch (error) {
    await app?.close();
    await nc.close();
    throw error;
  }
}
