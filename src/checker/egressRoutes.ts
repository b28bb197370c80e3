/**
 * The egress routes: GET /v1/egress describes this service's egress listener (what
 * `porthole egress` reads), GET /egress is the page that tries it from a browser. Both answer
 * E_NO_EGRESS_LISTENER when the service runs none.
 */
import type { FastifyPluginAsync } from 'fastify';
import { PortholeError } from '../errors/index.js';
import { formatPortSpec } from '../net/index.js';
import { egressPageCsp, egressPageHtml, egressPageScript } from './egressPage.js';
import type { EgressDescription } from './types.js';

/** Registers GET /v1/egress, GET /egress and GET /assets/egress.js. */
export const egressRoutes: FastifyPluginAsync<{ egress?: EgressDescription | undefined }> = async (app, { egress }) => {
  const description = egress && {
    protocol: 'porthole-egress/1',
    address: egress.address,
    tcp: egress.tcp.length > 0 ? formatPortSpec(egress.tcp) : '',
    udp: egress.udp.length > 0 ? formatPortSpec(egress.udp) : '',
    publicKey: egress.publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
  };
  app.get('/v1/egress', async () => {
    if (!description) throw new PortholeError('E_NO_EGRESS_LISTENER');
    return description;
  });
  const script = egressPageScript();
  app.get('/egress', async (_request, reply) => {
    if (!egress) throw new PortholeError('E_NO_EGRESS_LISTENER');
    return reply
      .header('content-security-policy', egressPageCsp(egress.address))
      .type('text/html; charset=utf-8')
      .send(egressPageHtml());
  });
  app.get('/assets/egress.js', async (_request, reply) => reply.type('text/javascript; charset=utf-8').send(script));
};
