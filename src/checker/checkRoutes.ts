/**
 * The check routes: GET /v1/ip (the caller's address) and POST /v1/check (probe the caller's
 * ports). The body's shape is refused by its schema before the route runs; what a schema cannot
 * judge (the port spec, the count, reserved targets, checks running per caller) is judged here.
 */
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyPluginAsync } from 'fastify';
import { PortholeError } from '../errors/index.js';
import { cidrContains, countPorts, isPublicUnicast, parseIp, parsePortSpec, portEntries } from '../net/index.js';
import { createProbeHold, probePorts } from '../probe/index.js';
import { type CheckBody, checkBodySchema, portSpecOf, proofKeyOf } from '../service/index.js';
import type { CheckerRouteOptions } from './types.js';

/**
 * How long open probe connections stay up after the answer is sent: the caller reads its own
 * socket table when the answer arrives, so the connection must outlive the answer's trip and a
 * slow caller (a loaded NAS; the bench on a busy machine took over a second at times), as the
 * fleet's vantages do.
 */
const HOLD_AFTER_ANSWER_MS = 3000;

/** Holds a request's open probe connections until its answer has gone out (src/probe/hold.ts). */
function holdUntilAnswered(response: ServerResponse): (socket: Socket) => void {
  const holder = createProbeHold();
  const release = () => holder.release(HOLD_AFTER_ANSWER_MS);
  response.once('finish', release);
  response.once('close', release);
  return holder.hold;
}

/** Registers GET /v1/ip and POST /v1/check. */
export const checkRoutes: FastifyPluginAsync<CheckerRouteOptions> = async (
  app,
  { options, metrics, callerOf, store },
) => {
  const running = new Map<string, number>();

  app.get('/v1/ip', async (request) => {
    const address = callerOf(request);
    return { address, family: parseIp(address).family };
  });

  app.post<{ Body: CheckBody }>(
    '/v1/check',
    {
      schema: { body: checkBodySchema },
      config: { rateLimit: { max: options.rateLimitPerMinute, timeWindow: 60_000 } },
    },
    async (request, reply) => {
      const started = performance.now();
      const target = callerOf(request);
      const body = request.body;
      const ranges = parsePortSpec(portSpecOf(body));
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
        store?.record({ at: new Date(), caller: target, target, proof: proofKey !== undefined, results });
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
};
