/** The check page: GET / (the form) and its script, under a strict Content-Security-Policy. */
import type { FastifyPluginAsync } from 'fastify';
import { checkPageCsp, checkPageHtml, checkPageScript } from './page.js';
import type { PageFamilies } from './pageFamilies.js';

/** Registers GET / and GET /assets/check.js; with families, the page asks both single-family URLs. */
export const pageRoutes: FastifyPluginAsync<{ families?: PageFamilies | undefined }> = async (app, { families }) => {
  const html = checkPageHtml();
  const script = checkPageScript(families);
  const csp = checkPageCsp(families);
  app.get('/', async (_request, reply) =>
    reply.header('content-security-policy', csp).type('text/html; charset=utf-8').send(html),
  );
  app.get('/assets/check.js', async (_request, reply) => reply.type('text/javascript; charset=utf-8').send(script));
};
