/**
 * The fleet's pure parts: signed orders (round trip, forged, tampered, expired, oversized),
 * replies and heartbeats, the combined verdict, credentials files, the roster's targets,
 * the selector, and the per-front limiter.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PortholeError } from '../../src/errors/index.js';
import {
  decodeHeartbeat,
  decodeReply,
  decodeSignedOrder,
  encodeHeartbeat,
  encodeReply,
  encodeSignedOrder,
  MAX_MESSAGE_BYTES,
} from '../../src/fleet/codec.js';
import {
  judgeVantages,
  leastReachableResults,
  loadFrontPublicKey,
  loadOrCreateSigningKey,
  parseNatsCredentials,
  parseVantageSelector,
  Roster,
} from '../../src/fleet/index.js';
import { limitKey, localLimiter } from '../../src/fleet/limits.js';
import type { CheckOrder, VantageAnswer } from '../../src/fleet/types.js';
import type { ProbeResult, ProbeState } from '../../src/probe/types.js';
import { runCliCaptured } from '../support/cli.js';

const frontKeys = generateKeyPairSync('ed25519');
const NOW = 1_800_000_000_000;
const order: CheckOrder = {
  id: 'a1',
  target: '203.0.113.1',
  ports: '7001,7002',
  probeTimeoutMs: 1500,
  keepaliveMs: 333,
  issuedAt: NOW,
  expiresAt: NOW + 15_000,
};

function coded(code: string) {
  return (error: unknown) => error instanceof PortholeError && error.code === code;
}

describe('fleet: signed check orders', () => {
  it('round-trips an order signed by the front', () => {
    assert.deepEqual(
      decodeSignedOrder(encodeSignedOrder(order, frontKeys.privateKey), frontKeys.publicKey, NOW),
      order,
    );
    const withProof = { ...order, proofKey: Buffer.alloc(32, 7).toString('base64') };
    assert.deepEqual(
      decodeSignedOrder(encodeSignedOrder(withProof, frontKeys.privateKey), frontKeys.publicKey, NOW),
      withProof,
    );
  });

  it('refuses an order signed by another key', () => {
    const other = generateKeyPairSync('ed25519');
    const bytes = encodeSignedOrder(order, other.privateKey);
    assert.throws(() => decodeSignedOrder(bytes, frontKeys.publicKey, NOW), coded('E_FLEET_SIGNATURE'));
  });

  it('refuses a signed order whose target was changed afterwards', () => {
    const envelope = JSON.parse(new TextDecoder().decode(encodeSignedOrder(order, frontKeys.privateKey)));
    const body = JSON.parse(Buffer.from(envelope.order, 'base64').toString());
    envelope.order = Buffer.from(JSON.stringify({ ...body, target: '198.51.100.7' })).toString('base64');
    const bytes = new TextEncoder().encode(JSON.stringify(envelope));
    assert.throws(() => decodeSignedOrder(bytes, frontKeys.publicKey, NOW), coded('E_FLEET_SIGNATURE'));
  });

  it('refuses an expired order and one from the future, allowing 30 s of clock skew', () => {
    const bytes = encodeSignedOrder(order, frontKeys.privateKey);
    assert.doesNotThrow(() => decodeSignedOrder(bytes, frontKeys.publicKey, order.expiresAt + 29_000));
    assert.throws(
      () => decodeSignedOrder(bytes, frontKeys.publicKey, order.expiresAt + 31_000),
      coded('E_FLEET_ORDER_EXPIRED'),
    );
    assert.throws(() => decodeSignedOrder(bytes, frontKeys.publicKey, NOW - 31_000), coded('E_FLEET_ORDER_EXPIRED'));
  });

  it('refuses malformed and oversized messages with E_FLEET_MESSAGE', () => {
    const text = (s: string) => new TextEncoder().encode(s);
    for (const bad of ['not json', '[]', '{"v":2}', '{"v":1,"order":5,"sig":""}']) {
      assert.throws(() => decodeSignedOrder(text(bad), frontKeys.publicKey, NOW), coded('E_FLEET_MESSAGE'), bad);
    }
    const big = new Uint8Array(MAX_MESSAGE_BYTES + 1).fill(32);
    assert.throws(() => decodeSignedOrder(big, frontKeys.publicKey, NOW), coded('E_FLEET_MESSAGE'));
    // A signed body missing a field is malformed, not trusted.
    const { ports: _ports, ...partial } = order;
    const bytes = encodeSignedOrder(partial as CheckOrder, frontKeys.privateKey);
    assert.throws(() => decodeSignedOrder(bytes, frontKeys.publicKey, NOW), coded('E_FLEET_MESSAGE'));
  });

  it('round-trips replies and heartbeats', () => {
    const vantage = { name: 'v1', region: 'eu' };
    const replies = [
      { kind: 'accepted', id: 'a1', vantage },
      { kind: 'result', id: 'a1', vantage, results: [result(7001, 'open')], ms: 12 },
      { kind: 'refused', id: 'a1', vantage, error: { code: 'E_FLEET_SIGNATURE', message: 'no' } },
    ] as const;
    for (const reply of replies) assert.deepEqual(decodeReply(encodeReply(reply)), reply);
    assert.throws(
      () => decodeReply(new TextEncoder().encode('{"kind":"x","id":"a","vantage":{"name":"v","region":"r"}}')),
      coded('E_FLEET_MESSAGE'),
    );
    const beat = { ...vantage, at: NOW, probed: 3, running: 1, refused: 2, version: '1.0.0', intervalMs: 5000 };
    assert.deepEqual(decodeHeartbeat(encodeHeartbeat(beat)), beat);
  });
});

function result(port: number, state: ProbeState, verified: boolean | null = null): ProbeResult {
  return { port, protocol: 'tcp', state, reason: state, ms: 1, verified };
}

function answered(name: string, ...results: ProbeResult[]): VantageAnswer {
  return { name, region: name, state: 'answered', results, ms: 5 };
}

describe('fleet: the combined verdict', () => {
  it('open everywhere: reachable from all, no disagreement', () => {
    const verdict = judgeVantages([answered('eu', result(7001, 'open')), answered('us', result(7001, 'open'))]);
    assert.equal(verdict.reachable, 'all');
    assert.deepEqual(verdict.from, ['eu', 'us']);
    assert.equal(verdict.disagree, false);
    assert.equal(verdict.summary, 'reachable from all (eu, us)');
  });

  it('filtered from one: some, names the vantage and the port', () => {
    const verdict = judgeVantages([
      answered('eu', result(7001, 'open'), result(7002, 'open')),
      answered('us', result(7001, 'open'), result(7002, 'open')),
      answered('ap', result(7001, 'open'), result(7002, 'filtered')),
    ]);
    assert.equal(verdict.reachable, 'some');
    assert.deepEqual(verdict.notFrom, ['ap']);
    assert.equal(verdict.disagree, true);
    assert.deepEqual(verdict.ports[1]?.states, { eu: 'open', us: 'open', ap: 'filtered' });
    assert.match(verdict.summary, /7002\/tcp not from ap/);
  });

  it('a vantage without an answer is unknown, never counted as closed', () => {
    const silent: VantageAnswer = {
      name: 'us',
      region: 'us',
      state: 'unknown',
      results: [],
      reason: 'stalled',
      ms: 3000,
    };
    const verdict = judgeVantages([answered('eu', result(7001, 'open')), silent]);
    assert.equal(verdict.reachable, 'all');
    assert.deepEqual(verdict.notFrom, []);
    assert.deepEqual(verdict.unknown, ['us']);
    assert.equal(verdict.ports[0]?.states.us, 'unknown');
    assert.match(verdict.summary, /no answer from us/);
    assert.equal(judgeVantages([silent]).reachable, 'unknown');
    assert.equal(judgeVantages([]).reachable, 'unknown');
  });

  it('open but answered by another machine (proof false) is not reachable', () => {
    const verdict = judgeVantages([
      answered('eu', result(7001, 'open', false)),
      answered('us', result(7001, 'open', false)),
    ]);
    assert.equal(verdict.reachable, 'none');
  });

  it('the single-checker results are the least reachable answer per port', () => {
    const results = leastReachableResults([
      answered('eu', result(7001, 'open'), result(7002, 'open')),
      answered('ap', result(7001, 'open'), result(7002, 'filtered')),
    ]);
    assert.deepEqual(
      results.map((r) => r.state),
      ['open', 'filtered'],
    );
  });
});

describe('fleet: credentials, selectors, roster, limits', () => {
  it('reads an nkey seed, a creds file and user:password; refuses anything else', () => {
    const seed = `SU${'A'.repeat(56)}`;
    assert.deepEqual(parseNatsCredentials(`${seed}\n`), { kind: 'nkey', seed });
    assert.deepEqual(parseNatsCredentials('# vantage eu\nv1:pa:ss\n'), { kind: 'user', user: 'v1', password: 'pa:ss' });
    assert.equal(parseNatsCredentials('-----BEGIN NATS USER JWT-----\nx\n').kind, 'creds');
    for (const bad of ['', 'justaname', ':nouser', 'a:b\nc:d']) {
      assert.throws(() => parseNatsCredentials(bad), coded('E_FLEET_AUTH_FILE'), JSON.stringify(bad));
    }
  });

  it('parses ?vantage= and refuses subject wildcards', () => {
    assert.equal(parseVantageSelector(undefined), 'all');
    assert.equal(parseVantageSelector('all'), 'all');
    assert.deepEqual(parseVantageSelector('eu, us'), ['eu', 'us']);
    for (const bad of ['eu.*', '>', 'a b', 'eu,', 'x'.repeat(65)]) {
      assert.throws(() => parseVantageSelector(bad), coded('E_FLEET_SELECTOR'), bad);
    }
  });

  it('fans out to each region once; a name picks one vantage; an unheard region is still asked', () => {
    const roster = new Roster();
    const beat = (name: string, region: string) => ({
      name,
      region,
      at: NOW,
      probed: 0,
      running: 0,
      refused: 0,
      version: '1',
      intervalMs: 1000,
    });
    roster.heard(beat('eu1', 'eu'), NOW);
    roster.heard(beat('eu2', 'eu'), NOW);
    roster.heard(beat('us1', 'us'), NOW);
    assert.deepEqual(
      roster.targets('all', NOW).map((t) => [t.subject, t.name]),
      [
        ['porthole.check.region.eu', 'eu'],
        ['porthole.check.region.us', 'us1'],
      ],
    );
    assert.deepEqual(
      roster.targets(['eu2', 'ap'], NOW).map((t) => [t.subject, t.name, t.region]),
      [
        ['porthole.check.vantage.eu2', 'eu2', 'eu'],
        ['porthole.check.region.ap', 'ap', 'ap'],
      ],
    );
    assert.equal(roster.entries(NOW + 3500)[0]?.stale, true);
    assert.deepEqual(roster.entries(NOW + 11 * 60_000), []);
  });

  it('counts checks per caller per minute and says when to retry', async () => {
    const limiter = localLimiter(2);
    await limiter.take('203.0.113.1');
    await limiter.take('203.0.113.1');
    await assert.rejects(limiter.take('203.0.113.1'), coded('E_RATE_LIMITED'));
    await limiter.take('203.0.113.2');
    assert.equal(limitKey('2001:db8::1'), 'caller.2001_db8__1');
  });
});

const cli = runCliCaptured;

describe('fleet: keys and the serve flags', () => {
  it('makes the front key once (0600, with FILE.pub), reads it back, and refuses a non-Ed25519 key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'porthole-fleet-'));
    try {
      const path = join(dir, 'front.key');
      const made = loadOrCreateSigningKey(path);
      assert.equal(made.created, true);
      assert.equal(statSync(path).mode & 0o777, 0o600);
      const again = loadOrCreateSigningKey(path);
      assert.equal(again.created, false);
      const pub = loadFrontPublicKey(made.publicPath);
      const bytes = encodeSignedOrder(order, again.privateKey);
      assert.deepEqual(decodeSignedOrder(bytes, pub, NOW), order);
      const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
      const rsaPath = join(dir, 'rsa.pub');
      writeFileSync(rsaPath, rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString());
      assert.throws(() => loadFrontPublicKey(rsaPath), coded('E_FLEET_KEY'));
      assert.throws(() => loadFrontPublicKey(join(dir, 'missing.pub')), coded('E_FLEET_KEY'));
      assert.match(readFileSync(made.publicPath, 'utf8'), /BEGIN PUBLIC KEY/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('serve --nats needs exactly one role and its key, before connecting anywhere (exit 2)', async () => {
    const none = await cli(['serve', '--nats', 'nats://127.0.0.1:9', '--json']);
    assert.equal(none.status, 2);
    assert.match(none.stdout, /E_FLEET_ROLE/);
    const both = await cli(['serve', '--nats', 'nats://127.0.0.1:9', '--front', '--vantage', 'eu', '--json']);
    assert.equal(both.status, 2);
    const keyless = await cli(['serve', '--nats', 'nats://127.0.0.1:9', '--vantage', 'eu', '--json']);
    assert.equal(keyless.status, 2);
    assert.match(keyless.stdout, /E_FLEET_KEY/);
  });

  it('check --vantage refuses a bad list before asking anyone (exit 2)', async () => {
    const bad = await cli(['check', '7001', '--checker', 'http://127.0.0.1:9', '--vantage', 'eu.*', '--json']);
    assert.equal(bad.status, 2);
    assert.match(bad.stdout, /E_FLEET_SELECTOR/);
  });
});

describe('fleet: the front refuses before fanning out', () => {
  async function front(allowTargets: string[], perMinute = 30) {
    const { buildFront } = await import('../../src/fleet/index.js');
    const { parseCidrList } = await import('../../src/net/address.js');
    // No NATS connection: every request below must be answered before one would be used.
    return buildFront(
      {
        nats: { servers: 'nats://127.0.0.1:9', name: 't' },
        signingKey: frontKeys.privateKey,
        host: '127.0.0.1',
        port: 0,
        allowTargets: parseCidrList(allowTargets.join(',')),
      },
      { nc: undefined as never, roster: new Roster(), limiter: localLimiter(perMinute) },
    );
  }

  it('a caller with a non-public address: 403 E_TARGET_NOT_ALLOWED', async () => {
    const app = await front([]);
    const response = await app.inject({ method: 'POST', url: '/v1/check', payload: { ports: '7001' } });
    assert.equal(response.statusCode, 403);
    assert.equal(response.json().error.code, 'E_TARGET_NOT_ALLOWED');
    await app.close();
  });

  it('a bad vantage list, too many ports, or over the caller limit: 400, 400, 429 with Retry-After', async () => {
    const app = await front(['127.0.0.0/8'], 0);
    const selector = await app.inject({ method: 'POST', url: '/v1/check?vantage=eu.>', payload: { ports: '7001' } });
    assert.equal(selector.statusCode, 400);
    assert.equal(selector.json().error.code, 'E_FLEET_SELECTOR');
    const many = await app.inject({ method: 'POST', url: '/v1/check', payload: { ports: '1-65' } });
    assert.equal(many.statusCode, 400);
    assert.equal(many.json().error.code, 'E_TOO_MANY_PORTS');
    const limited = await app.inject({ method: 'POST', url: '/v1/check', payload: { ports: '7001' } });
    assert.equal(limited.statusCode, 429);
    assert.equal(limited.json().error.code, 'E_RATE_LIMITED');
    assert.ok(Number(limited.headers['retry-after']) >= 1);
    await app.close();
  });
});
