/**
 * The local page's server, built apart from listening (as the check service is), so tests inject
 * requests. Every request passes the guard (guard.ts) first; every answer carries the security
 * headers; the page's progress streams as server-sent events from the runs (runs.ts).
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { PortholeError } from '../errors/index.js';
import { answerErrors } from '../service/index.js';
import { type GuardPolicy, guardRequest, requestKind, SECURITY_HEADERS, sameToken, tokenCookie } from './guard.js';
import { UI_FORBIDDEN_HTML, UI_PAGE_HTML } from './pageHtml.js';
import { uiScript } from './pageScript.js';
import { UI_STYLE } from './pageStyle.js';
import { PageRuns, type RunOptions } from './runs.js';
import { readSettings, type SettingField, writeSettings } from './settings.js';
import { examplesFolder, exampleTables, tableOf } from './sources.js';

/** What the page's server is built with. */
export interface UiAppOptions {
  /** The per-run key (the URL's `?token=`, then the cookie). */
  readonly token: string;
  /** The loopback address the page is served on (default 127.0.0.1). */
  readonly host?: string;
  /**
   * The port the page is served on, for the Host rule when the socket does not say (injected
   * requests); a request that arrived on a socket is judged by the port it arrived on.
   */
  readonly port?: number;
  /** The library options of every run (environment; tests' loopback router). */
  readonly run?: RunOptions;
  /** Where the example ports tables are (default: the package's examples folder; none: no list). */
  readonly examples?: string | null;
  /** Called when the page's Stop button was pressed (after the answer is sent). */
  readonly onStop?: () => void;
}

/** The page's server and its runs. */
export interface UiApp {
  readonly app: FastifyInstance;
  readonly runs: PageRuns;
}

/** Keep-alive comment on the event stream, so a proxy or the browser does not think it dead. */
const PING_MS = 15_000;
/** Pages that may listen at once (a few tabs); more is a mistake or an attack on this machine. */
const MAX_STREAMS = 16;
/** A source is a port list or a path: nothing longer is either. */
const MAX_SOURCE = 4096;

const sourceBody = {
  type: 'object',
  required: ['source'],
  additionalProperties: false,
  properties: { source: { type: 'string', minLength: 1, maxLength: MAX_SOURCE, description: 'ports or a file path' } },
} as const;

const emptyBody = { type: 'object', additionalProperties: false, maxProperties: 0 } as const;

const settingsBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    checker: { type: 'string', maxLength: 2048 },
    relay: { type: 'string', maxLength: 2048 },
    name: { type: 'string', maxLength: 255 },
  },
} as const;

/** Builds the page's server. Call `.listen()` on `app` to serve, or `.inject()` to test. */
export async function buildUi(options: UiAppOptions): Promise<UiApp> {
  const host = options.host ?? '127.0.0.1';
  const env = options.run?.env ?? process.env;
  const runs = new PageRuns(options.run ?? {});
  const examples = options.examples === undefined ? examplesFolder() : (options.examples ?? undefined);
  const script = uiScript();
  const streams = new Set<FastifyReply['raw']>();
  const app = Fastify({ logger: false, bodyLimit: 16 * 1024, forceCloseConnections: true });
  const policyOf = (request: FastifyRequest): GuardPolicy => ({
    host,
    port: request.socket.localPort ?? options.port ?? 0,
    token: options.token,
  });

  answerErrors(app);
  app.addHook('onRequest', async (request, reply) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) reply.header(name, value);
    const [path = '/'] = request.url.split('?');
    const policy = policyOf(request);
    const given = (request.query as { token?: unknown } | undefined)?.token;
    const withKey = path === '/' && typeof given === 'string' && sameToken(given, policy.token);
    const refusal = guardRequest(
      { method: request.method, path, headers: request.headers, remoteAddress: request.socket.remoteAddress },
      policy,
      withKey,
    );
    if (!refusal) return;
    reply.code(403).header('cache-control', 'no-store');
    if (requestKind({ method: request.method, path }) === 'page')
      return reply.type('text/html; charset=utf-8').send(UI_FORBIDDEN_HTML);
    return reply.send({ error: refusal.toJSON() });
  });
  app.setNotFoundHandler(async (_request, reply) =>
    reply.code(404).send({ error: new PortholeError('E_UI_NOT_FOUND').toJSON() }),
  );

  // The page. Opened with the key (the guard let only the right one through), it hands the key
  // over as the cookie, and its script takes the key out of the address bar (history.replaceState):
  // answering at once rather than redirecting saves the page a round trip before its first paint.
  app.get('/', async (request, reply) => {
    if (typeof (request.query as { token?: unknown }).token === 'string')
      reply.header('set-cookie', tokenCookie(policyOf(request)));
    return reply.header('cache-control', 'no-store').type('text/html; charset=utf-8').send(UI_PAGE_HTML);
  });
  app.get('/assets/ui.js', async (_request, reply) => reply.type('text/javascript; charset=utf-8').send(script));
  app.get('/assets/ui.css', async (_request, reply) => reply.type('text/css; charset=utf-8').send(UI_STYLE));
  app.get('/favicon.ico', async (_request, reply) => reply.code(204).send());

  // What the page reads.
  app.get('/api/settings', async (_request, reply) =>
    reply.header('cache-control', 'no-store').send(readSettings(env)),
  );
  app.get('/api/examples', async () => ({ examples: await exampleTables(examples) }));
  app.get('/api/table', async (request) => {
    const source = String((request.query as { source?: unknown }).source ?? '');
    if (source === '' || source.length > MAX_SOURCE)
      throw new PortholeError('E_PORT_SPEC', { detail: 'no ports named' });
    return { table: await tableOf(source) };
  });
  app.get('/api/events', (request, reply) => {
    if (streams.size >= MAX_STREAMS)
      throw new PortholeError('E_UI_BUSY', { detail: `${MAX_STREAMS} pages already listen` });
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    const send = (message: unknown) => raw.write(`data: ${JSON.stringify(message)}\n\n`);
    send({ type: 'snapshot', ...runs.snapshot() });
    const unsubscribe = runs.subscribe(send);
    const ping = setInterval(() => raw.write(': ping\n\n'), PING_MS);
    ping.unref();
    streams.add(raw);
    request.raw.once('close', () => {
      clearInterval(ping);
      unsubscribe();
      streams.delete(raw);
    });
  });

  // What the page changes: each starts a run, whose progress and outcome come over the stream.
  const started = (reply: FastifyReply, job: { id: number; job: string }, table?: unknown) =>
    reply.code(202).send({ ...job, ...(table ? { table } : {}) });
  const sourceRoute = (path: string, start: (source: string) => { id: number; job: string }) =>
    app.post(path, { schema: { body: sourceBody } }, async (request, reply) => {
      const { source } = request.body as { source: string };
      // Bad ports or an unreadable table are said now, beside the field, not as a failed run.
      const table = await tableOf(source.trim());
      return started(reply, start(source.trim()), table);
    });
  sourceRoute('/api/check', (source) => runs.check(source));
  sourceRoute('/api/expose', (source) => runs.expose(source));
  sourceRoute('/api/keep', (source) => runs.keep(source));
  sourceRoute('/api/firewall', (source) => runs.openFirewall(source));
  app.post('/api/keep/stop', { schema: { body: emptyBody } }, async (_request, reply) => {
    void runs.stopKeeping();
    return reply.code(202).send({ stopping: true });
  });
  app.post('/api/remove', { schema: { body: emptyBody } }, async (_request, reply) =>
    started(reply, runs.removeMade()),
  );
  app.post('/api/settings', { schema: { body: settingsBody } }, async (request) =>
    writeSettings(env, request.body as Partial<Record<SettingField, string>>),
  );
  app.post('/api/stop', { schema: { body: emptyBody } }, async (_request, reply) => {
    reply.code(202).send({ stopping: true });
    setImmediate(() => options.onStop?.());
    return reply;
  });

  // Closing ends the event streams (a server waits for open requests) and stops every run.
  app.addHook('preClose', async () => {
    await runs.close();
    for (const raw of streams) raw.end();
    streams.clear();
  });
  return { app, runs };
}
