/** The check service through injected requests: the API, its security rules, the page, metrics, the record. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildChecker } from '../../src/checker/index.js';
import { type CheckStore, openCheckStore } from '../../src/checker/store.js';
import { parseCidrList } from '../../src/net/address.js';
import { callerAddress } from '../../src/net/index.js';
import { newProofKey, startProofListeners } from '../../src/probe/index.js';
import { freePort } from '../support/ports.js';

const LOOPBACK = parseCidrList('127.0.0.0/8');

function check(
  app: FastifyInstance,
  payload: unknown,
  options: { remoteAddress?: string; headers?: Record<string, string> } = {},
) {
  return app.inject({
    method: 'POST',
    url: '/v1/check',
    payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
    headers: { 'content-type': 'application/json', ...options.headers },
    remoteAddress: options.remoteAddress ?? '127.0.0.1',
  });
}

describe('callerAddress', () => {
  const proxies = parseCidrList('10.0.0.0/8');
  it('uses the socket peer, unmapping IPv4-mapped IPv6', () => {
    assert.equal(callerAddress('::ffff:203.0.113.9', undefined, []), '203.0.113.9');
  });
  it('ignores X-Forwarded-For from a peer that is not a trusted proxy', () => {
    assert.equal(callerAddress('198.51.100.7', '203.0.113.66', proxies), '198.51.100.7');
  });
  it('takes the nearest untrusted hop when the peer is a trusted proxy', () => {
    assert.equal(callerAddress('10.0.0.2', '203.0.113.66, 198.51.100.5, 10.0.0.3', proxies), '198.51.100.5');
    assert.equal(callerAddress('10.0.0.2', 'not-an-address', proxies), '10.0.0.2');
  });
});

describe('check service API', () => {
  let app: FastifyInstance;
  let store: CheckStore;
  const dir = mkdtempSync(join(tmpdir(), 'porthole-checker-'));
  before(async () => {
    store = openCheckStore(dir, 30);
    app = await buildChecker({ allowTargets: LOOPBACK, probeTimeoutMs: 500, rateLimitPerMinute: 1000 }, { store });
  });
  after(async () => {
    await app.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('GET /v1/ip answers the caller address', async () => {
    const response = await app.inject({ method: 'GET', url: '/v1/ip', remoteAddress: '::ffff:127.0.0.5' });
    assert.deepEqual(response.json(), { address: '127.0.0.5', family: 4 });
  });

  it('POST /v1/check probes the caller: open with proof, closed, and records every result', async () => {
    const key = newProofKey();
    const openPort = await freePort();
    const closedPort = await freePort();
    const listeners = await startProofListeners([{ protocol: 'tcp', port: openPort }], key);
    try {
      const response = await check(app, { ports: `${openPort},${closedPort}`, proof: { key: key.toString('base64') } });
      assert.equal(response.statusCode, 200, response.body);
      const body = response.json() as {
        target: string;
        results: { port: number; state: string; verified: boolean | null }[];
      };
      assert.equal(body.target, '127.0.0.1');
      const byPort = new Map(body.results.map((result) => [result.port, result]));
      assert.deepEqual([byPort.get(openPort)?.state, byPort.get(openPort)?.verified], ['open', true]);
      assert.deepEqual([byPort.get(closedPort)?.state, byPort.get(closedPort)?.verified], ['closed', null]);
    } finally {
      await listeners.close();
    }
    const recorded = store.recent(2).map((row) => `${row.port}:${row.state}:${row.verified}`);
    assert.equal(recorded.length, 2);
    assert.ok(recorded.some((row) => row.endsWith(':open:1')));
  });

  it('a request that names another target still probes only the caller', async () => {
    const response = await check(app, { ports: '9', target: '198.51.100.1' }, { remoteAddress: '127.0.0.9' });
    assert.equal(response.statusCode, 200);
    const body = response.json() as { target: string; notes: string[] };
    assert.equal(body.target, '127.0.0.9');
    assert.match(body.notes[0] ?? '', /ignored/);
  });

  it('a non-public caller is refused without --allow-targets', async () => {
    const strict = await buildChecker({ rateLimitPerMinute: 1000 });
    try {
      const response = await check(strict, { ports: '80' }, { remoteAddress: '192.168.1.20' });
      assert.equal(response.statusCode, 403);
      assert.equal((response.json() as { error: { code: string } }).error.code, 'E_TARGET_NOT_ALLOWED');
    } finally {
      await strict.close();
    }
  });

  it('a spoofed X-Forwarded-For from an untrusted peer is ignored', async () => {
    const response = await app.inject({
      method: 'GET',
      url: '/v1/ip',
      remoteAddress: '127.0.0.7',
      headers: { 'x-forwarded-for': '198.51.100.1' },
    });
    assert.equal((response.json() as { address: string }).address, '127.0.0.7');
  });

  it('X-Forwarded-For from a trusted proxy names the caller', async () => {
    const proxied = await buildChecker({ trustProxy: parseCidrList('127.0.0.1/32') });
    try {
      const response = await proxied.inject({
        method: 'GET',
        url: '/v1/ip',
        remoteAddress: '127.0.0.1',
        headers: { 'x-forwarded-for': '198.51.100.1' },
      });
      assert.equal((response.json() as { address: string }).address, '198.51.100.1');
    } finally {
      await proxied.close();
    }
  });

  it('a burst beyond the rate limit gets 429 with Retry-After and a code', async () => {
    const limited = await buildChecker({ allowTargets: LOOPBACK, rateLimitPerMinute: 3, probeTimeoutMs: 200 });
    try {
      const port = await freePort();
      const statuses: number[] = [];
      let last: Awaited<ReturnType<typeof check>> | undefined;
      for (let i = 0; i < 5; i++) {
        last = await check(limited, { ports: String(port) }, { remoteAddress: '127.0.0.3' });
        statuses.push(last.statusCode);
      }
      assert.deepEqual(statuses, [200, 200, 200, 429, 429]);
      assert.ok(last);
      assert.ok(Number(last.headers['retry-after']) > 0);
      assert.equal((last.json() as { error: { code: string } }).error.code, 'E_RATE_LIMITED');
      // Another caller is not affected.
      assert.equal((await check(limited, { ports: String(port) }, { remoteAddress: '127.0.0.4' })).statusCode, 200);
    } finally {
      await limited.close();
    }
  });

  const BAD: ReadonlyArray<[string, string | object, number, string]> = [
    ['malformed JSON', '{"ports": ', 400, 'E_CHECK_REQUEST'],
    ['port 0', { ports: '0' }, 400, 'E_PORT_SPEC'],
    ['port 70000', { ports: [70000] }, 400, 'E_PORT_SPEC'],
    ['10,000 ports', { ports: '1-10000' }, 400, 'E_TOO_MANY_PORTS'],
    ['no ports', {}, 400, 'E_CHECK_REQUEST'],
    ['a bad proof key', { ports: '80', proof: { key: 'short' } }, 400, 'E_CHECK_REQUEST'],
    ['a body over the limit', { ports: '80', padding: 'x'.repeat(20_000) }, 413, 'E_CHECK_REQUEST'],
  ];
  for (const [name, payload, status, code] of BAD) {
    it(`${name} → ${status} ${code}`, async () => {
      const response = await check(app, payload);
      assert.equal(response.statusCode, status, response.body);
      const body = response.json() as { error: { code: string; hint: string } };
      assert.equal(body.error.code, code);
      assert.ok(body.error.hint.length > 0);
    });
  }

  it('serves the page with a strict CSP, its script, and Prometheus metrics', async () => {
    const page = await app.inject({ method: 'GET', url: '/' });
    assert.match(page.body, /Port to check/);
    assert.match(page.body, /Check port/);
    assert.match(String(page.headers['content-security-policy']), /default-src 'self'/);
    const script = await app.inject({ method: 'GET', url: '/assets/check.js' });
    assert.match(script.body, /The server service or process is not running/);
    const metrics = await app.inject({ method: 'GET', url: '/metrics' });
    assert.match(metrics.body, /porthole_probes_total\{protocol="tcp",state="open"\} \d+/);
    assert.match(metrics.body, /porthole_refused_total\{reason="E_PORT_SPEC"\} \d+/);
  });
});

describe('check store retention', () => {
  it('prunes checks older than the retention', () => {
    const dir = mkdtempSync(join(tmpdir(), 'porthole-store-'));
    const store = openCheckStore(dir, 7);
    try {
      const result = {
        port: 1,
        protocol: 'tcp' as const,
        state: 'closed' as const,
        reason: 'conn-refused',
        ms: 1,
        verified: null,
      };
      store.record({
        at: new Date('2026-01-01T00:00:00Z'),
        caller: '203.0.113.1',
        target: '203.0.113.1',
        proof: false,
        results: [result],
      });
      store.record({
        at: new Date('2026-01-10T00:00:00Z'),
        caller: '203.0.113.1',
        target: '203.0.113.1',
        proof: false,
        results: [result],
      });
      assert.equal(store.prune(new Date('2026-01-12T00:00:00Z')), 1);
      assert.equal(store.recent(10).length, 1);
    } finally {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
