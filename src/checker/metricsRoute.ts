/** GET /metrics: the service's Prometheus metrics. */
import type { FastifyPluginAsync } from 'fastify';
import type { CheckerMetrics } from './metrics.js';

/** Registers GET /metrics. */
export const metricsRoute: FastifyPluginAsync<{ metrics: CheckerMetrics }> = async (app, { metrics }) => {
  app.get('/metrics', async (_request, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );
};
