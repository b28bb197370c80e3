import rateLimit from '@fastify/rate-limit';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { PortholeError } from '../errors/index.js';
import { callerAddress } from '../net/index.js';
import { answerErrors, publicServer, SERVICE_AJV_OPTIONS } from '../service/index.js';
import { checkRoutes } from './checkRoutes.js';
import { egressRoutes } from './egressRoutes.js';
import { createMetrics } from './metrics.js';
import { metricsRoute } from './metricsRoute.js';
import { answerPageCors } from './pageCors.js';
import { pageRoutes } from './pageRoutes.js';
import { type CheckerDependencies, type CheckerOptions, DEFAULT_CHECKER_OPTIONS } from './types.js';

/** Builds the service. Call `.listen()` on the result to serve, or `.inject()` to test. */
export {
  type CheckerDependencies,
  type CheckerOptions,
  type CheckerRouteOptions,
  DEFAULT_CHECKER_OPTIONS,
  type EgressDescription,
} from './types.js';

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
