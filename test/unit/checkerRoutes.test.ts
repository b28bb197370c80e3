/**
 * The HTTP face shared by the check service and the fleet's front: the check body's JSON schema
 * (Fastify's validation, words naming the field), the shared error handler (413, 415, 500), and
 * the registry's HTTP statuses, each driven by a real request to a route that answers it.
 * Requests are injected; the only probes made go to a closed loopback port.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { buildChecker } from '../../src/checker/index.js';
import { type ErrorCode, errorCodes, httpStatusFor, PortholeError } from '../../src/errors/index.js';
import { buildFront } from '../../src/fleet/index.js';
import { localLimiter } from '../../src/fleet/limits.js';
import { Roster } from '../../src/fleet/roster.js';
import { currentHost, type Host } from '../../src/host/index.js';
import { parseCidrList } from '../../src/net/address.js';
import { refusalFor } from '../../src/service/index.js';
import { buildUi, tokenCookieName } from '../../src/ui/index.js';
import { freePort } from '../support/ports.js';

const LOOPBACK = parseCidrList('127.0.0.0/8');

/**
 * An empty fleet: with no vantage in the roster the front publishes nothing, so the connection is
 * only asked for a reply subscription. `published` counts anything sent, which must stay 0.
 */
function emptyFleetConnection() {
  const connection = {
    published: 0,
    subscribe: () => ({ unsubscribe: () => {} }),
    publish: () => {
      connection.published++;
    },
  };
  return connection;
}

async function front(options: { perMinute?: number } = {}) {
  const nc = emptyFleetConnection();
  const app = await buildFront(
    {
      nats: { servers: 'nats://127.0.0.1:9', name: 't' },
      signingKey: generateKeyPairSync('ed25519').privateKey,
      host: '127.0.0.1',
      port: 0,
      allowTargets: LOOPBACK,
      deadlineMs: 500,
    },
    { nc: nc as never, roster: new Roster(), limiter: localLimiter(options.perMinute ?? 1000) },
  );
  return { app, nc };
}

function post(app: FastifyInstance, payload: unknown, extra: Partial<InjectOptions> = {}) {
  return app.inject({
    method: 'POST',
    url: '/v1/check',
    payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
    headers: { 'content-type': 'application/json' },
    remoteAddress: '127.0.0.1',
    ...extra,
  });
}

const VALID_KEY = Buffer.alloc(32, 7).toString('base64');

/** Bodies the schema refuses, and the field the refusal must name. */
const SCHEMA_REFUSED: ReadonlyArray<[string, unknown, RegExp]> = [
  ['ports of the wrong type', { ports: true }, /"ports" must be string or integer or array/],
  ['a fractional port number', { ports: 80.5 }, /"ports" must be/],
  ['a list with an object in it', { ports: [80, { port: 81 }] }, /"ports\[1\]" must be string or integer/],
  ['an empty list', { ports: [] }, /"ports" must NOT have fewer than 1 items/],
  ['no ports', { proof: { key: VALID_KEY } }, /"ports" is missing/],
  ['a body that is a list', [80], /the body must be object/],
  ['a proof that is a string', { ports: '80', proof: VALID_KEY }, /"proof" must be object/],
  ['a proof without a key', { ports: '80', proof: {} }, /"proof\.key" is missing/],
  ['a proof key that is a number', { ports: '80', proof: { key: 1234 } }, /"proof\.key" must be string/],
  ['a proof key too short', { ports: '80', proof: { key: 'c2hvcnQ=' } }, /"proof\.key" must NOT have fewer than 22/],
  ['a proof key too long', { ports: '80', proof: { key: 'A'.repeat(89) } }, /"proof\.key" must NOT have more than 88/],
  ['a proof key not base64', { ports: '80', proof: { key: `${'*'.repeat(24)}` } }, /"proof\.key" has characters/],
  ['a proof key of 65 bytes', { ports: '80', proof: { key: 'A'.repeat(87) } }, /"proof\.key" is 65 bytes/],
];

describe('check body schema and shared error handler', () => {
  let checker: FastifyInstance;
  let fleet: Awaited<ReturnType<typeof front>>;
  let closed: number;
  before(async () => {
    checker = await buildChecker({ allowTargets: LOOPBACK, rateLimitPerMinute: 1000, probeTimeoutMs: 500 });
    fleet = await front();
    closed = await freePort();
  });
  after(async () => {
    await checker.close();
    await fleet.app.close();
  });

  for (const [name, body, field] of SCHEMA_REFUSED) {
    it(`${name} → 400 E_CHECK_REQUEST naming the field, on the checker and on the front`, async () => {
      for (const app of [checker, fleet.app]) {
        const response = await post(app, body);
        assert.equal(response.statusCode, 400, response.body);
        const error = response.json().error as { code: string; message: string; hint: string };
        assert.equal(error.code, 'E_CHECK_REQUEST');
        assert.match(error.message, field);
        assert.ok(error.hint.length > 0);
      }
      assert.equal(fleet.nc.published, 0, 'a refused request sends no order');
    });
  }

  it('valid bodies in every accepted shape pass the schema unchanged', async () => {
    const shapes = [
      { ports: String(closed) },
      { ports: closed },
      { ports: [closed, `${closed}/tcp`] },
      { ports: String(closed), proof: { key: VALID_KEY } },
      // Unpadded URL-safe base64 is read as Node's decoder reads it, as before the schema.
      { ports: String(closed), proof: { key: Buffer.alloc(16, 250).toString('base64url') } },
      { ports: String(closed), target: '198.51.100.1', unknownField: { kept: 'ignored' } },
    ];
    for (const body of shapes) {
      const response = await post(checker, body);
      assert.equal(response.statusCode, 200, `${JSON.stringify(body)}: ${response.body}`);
      const answer = response.json() as { target: string; proof: boolean; results: { state: string }[] };
      assert.equal(answer.target, '127.0.0.1');
      assert.equal(answer.proof, 'proof' in body);
      assert.ok(answer.results.every((result) => result.state === 'closed'));
    }
  });

  it('a 17 KiB body → 413 E_CHECK_REQUEST on both services', async () => {
    const body = JSON.stringify({ ports: '80', padding: 'x'.repeat(17 * 1024) });
    for (const app of [checker, fleet.app]) {
      const response = await post(app, body);
      assert.equal(response.statusCode, 413);
      assert.equal(response.json().error.code, 'E_CHECK_REQUEST');
      assert.match(response.json().error.message, /larger than 16384 bytes/);
    }
  });

  it('a content type no parser reads → 415 E_CHECK_REQUEST; malformed JSON → 400', async () => {
    for (const app of [checker, fleet.app]) {
      const form = await post(app, 'ports=80', { headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      assert.equal(form.statusCode, 415);
      assert.equal(form.json().error.code, 'E_CHECK_REQUEST');
      assert.match(form.json().error.message, /application\/x-www-form-urlencoded is not read/);
      const broken = await post(app, '{"ports": ');
      assert.equal(broken.statusCode, 400);
      assert.equal(broken.json().error.code, 'E_CHECK_REQUEST');
    }
  });

  it('anything else thrown in a route → 500 E_INTERNAL, saying nothing of the cause', async () => {
    const app = await buildChecker();
    app.get('/boom', async () => {
      throw new Error('secret internals');
    });
    try {
      const response = await app.inject({ method: 'GET', url: '/boom' });
      assert.equal(response.statusCode, 500);
      assert.equal(response.json().error.code, 'E_INTERNAL');
      assert.doesNotMatch(response.body, /secret internals/);
    } finally {
      await app.close();
    }
  });

  it('a coded error without a registry status: usage → 400, operational → 500, its code kept', () => {
    assert.deepEqual(
      [refusalFor(new PortholeError('E_ADDRESS'))?.status, refusalFor(new PortholeError('E_TIMEOUT'))?.status],
      [400, 500],
    );
    assert.equal(refusalFor(new Error('x')), undefined);
  });
});

describe('HTTP statuses in the error registry', () => {
  it('every code with an HTTP status is answered by a route with exactly that status, and no other code is', async () => {
    const checker = await buildChecker({ allowTargets: LOOPBACK, rateLimitPerMinute: 1000, probeTimeoutMs: 500 });
    const strict = await buildChecker({ rateLimitPerMinute: 1000 });
    const fleet = await front();
    const limited = await front({ perMinute: 0 });
    const boom = await buildChecker();
    // The local page (porthole ui), whose host firewall opens only when the test lets it: a second
    // run asked for meanwhile is refused as busy; nothing on this machine changes.
    let open: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const real = currentHost({ env: {} });
    const host: Host = {
      ...real,
      firewall: {
        ...real.firewall,
        applyRules: async () => {
          await gate;
          throw new PortholeError('E_PERMISSION', { detail: 'a test' });
        },
      },
    };
    const page = await buildUi({ token: 'k'.repeat(43), port: 4567, examples: null, run: { env: {}, host } });
    const pageHeaders = {
      host: '127.0.0.1:4567',
      cookie: `${tokenCookieName(4567)}=${'k'.repeat(43)}`,
      'content-type': 'application/json',
    };
    const openFirewall: InjectOptions = {
      method: 'POST',
      url: '/api/firewall',
      headers: pageHeaders,
      payload: JSON.stringify({ source: '7001' }),
    };
    boom.get('/boom', async () => {
      throw new TypeError('a bug');
    });
    const seen = new Map<string, number>();
    const drive = async (app: FastifyInstance, options: InjectOptions) => {
      const response = await app.inject({ remoteAddress: '127.0.0.1', ...options });
      const code = (response.json() as { error?: { code: string } }).error?.code;
      assert.ok(code, `${options.url}: ${response.body}`);
      assert.ok(!seen.has(code) || seen.get(code) === response.statusCode, `${code} answered with two statuses`);
      seen.set(code, response.statusCode);
    };
    const check = (body: unknown, url = '/v1/check'): InjectOptions => ({
      method: 'POST',
      url,
      payload: body as InjectOptions['payload'],
    });
    try {
      await drive(checker, check({ ports: true }));
      await drive(checker, check({ ports: '0' }));
      await drive(checker, check({ ports: '1-65' }));
      await drive(strict, { ...check({ ports: '80' }), remoteAddress: '192.168.1.20' });
      await drive(checker, { method: 'GET', url: '/v1/egress' });
      await drive(limited.app, check({ ports: '80' }));
      await drive(fleet.app, check({ ports: '80' }, '/v1/check?vantage=eu.>'));
      await drive(fleet.app, check({ ports: '80' }));
      await drive(boom, { method: 'GET', url: '/boom' });
      await drive(page.app, { method: 'GET', url: '/api/settings', headers: { host: 'evil.example' } });
      await drive(page.app, { method: 'GET', url: '/nothing-here', headers: pageHeaders });
      assert.equal((await page.app.inject({ remoteAddress: '127.0.0.1', ...openFirewall })).statusCode, 202);
      await drive(page.app, openFirewall);
      open();
      const withStatus = errorCodes.filter((code) => httpStatusFor(code) !== undefined);
      assert.deepEqual(
        [...seen.keys()].sort(),
        [...withStatus].sort(),
        'the codes routes answer are those with a status',
      );
      for (const [code, status] of seen) assert.equal(status, httpStatusFor(code as ErrorCode), code);
      assert.equal(fleet.nc.published, 0, 'an empty fleet is sent nothing');
    } finally {
      open();
      for (const app of [checker, strict, fleet.app, limited.app, boom, page.app]) await app.close();
    }
  });
});
