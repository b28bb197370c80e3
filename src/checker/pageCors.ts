/**
 * CORS for the page's two families: the page, opened at one origin, asks the service's
 * IPv4-only and IPv6-only URLs (other origins) for /v1/ip and POST /v1/check. Only the configured
 * origins get Access-Control-Allow-Origin (echoed, with `Vary: Origin`); any other origin gets no
 * CORS header, so its browser keeps the answer from it. No credentials are involved: the check
 * probes the caller's address, whoever asks.
 */
import type { FastifyInstance } from 'fastify';
import { allowedOrigin, type PageFamilies } from './pageFamilies.js';

/** The routes the page calls across origins, with the method each allows. */
const CROSS_ORIGIN_ROUTES: ReadonlyMap<string, string> = new Map([
  ['/v1/ip', 'GET'],
  ['/v1/check', 'POST'],
]);

/** Preflights are remembered this long (seconds) by the browser. */
const PREFLIGHT_MAX_AGE_S = 600;

/** Adds the CORS answers (and the JSON POST's preflight) for the configured origins. */
export function answerPageCors(app: FastifyInstance, families: PageFamilies): void {
  app.addHook('onRequest', async (request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    if (!CROSS_ORIGIN_ROUTES.has(path)) return;
    // The answer differs by Origin; a cache in between must not hand one origin's answer to another.
    reply.header('vary', 'Origin');
    const origin = allowedOrigin(families, request.headers.origin);
    if (origin) reply.header('access-control-allow-origin', origin);
  });
  for (const [path, method] of CROSS_ORIGIN_ROUTES) {
    app.options(path, async (request, reply) => {
      if (allowedOrigin(families, request.headers.origin)) {
        reply
          .header('access-control-allow-methods', method)
          .header('access-control-allow-headers', 'content-type')
          .header('access-control-max-age', String(PREFLIGHT_MAX_AGE_S));
      }
      return reply.code(204).send();
    });
  }
}
