/** The check page: GET / (the form) and its script, under a strict Content-Security-Policy. */
import type { FastifyPluginAsync } from 'fastify';
import { checkPageHtml, checkPageScript, PAGE_CSP } from './page.js';

/** Registers GET / and GET /assets/check.js. */
export const pageRoutes: FastifyPluginAsync = async (app) => {
  const html = checkPageHtml();
  const script = checkPageScript();
  app.get('/', async (_request, reply) =>
    reply.header('content-security-policy', PAGE_CSP).type('text/html; charset=utf-8').send(html),
  );
  app.get('/assets/check.js', async (_request, reply) => reply.type('text/javascript; charset=utf-8').send(script));
};
