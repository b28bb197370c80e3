/**
 * The update pass and loop against a loopback authoritative server (test/support/fakeDns.ts):
 * only what differs is sent, A and AAAA apart, rate-limited; answers that are malformed,
 * forged or missing are coded errors. The dyndns2 client against a loopback HTTP server: every
 * answer, the stop and the back-off kept in the state file. The name service's endpoint by
 * injected requests.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import Fastify from 'fastify';
import {
  DYNDNS2_ANSWERS,
  type Dyndns2Answer,
  decodeDyndns2Answer,
  hashPassword,
  keepName,
  parseTsigKeyFile,
  parseUsers,
  registerNameService,
  sendUpdate,
  updateName,
  verifyPassword,
} from '../../src/dns/index.js';
import { readNameState, writeNameState } from '../../src/dns/state.js';
import { PortholeError } from '../../src/errors/index.js';
import { type FakeDns, startFakeDns } from '../support/fakeDns.js';

const coded = (code: string) => (error: unknown) => error instanceof PortholeError && error.code === code;
const ZONE = 'dyn.example.net';
const KEY = parseTsigKeyFile(
  'key "k" { algorithm hmac-sha256; secret "vybMpHO9JLZQtYgW/PolbXtiwa0tXbl2bR7ralKJZhs="; };',
);
const statePath = () => join(mkdtempSync(join(tmpdir(), 'porthole-names-')), 'names.json');

describe('RFC 2136 pass and loop against a loopback server', () => {
  let fake: FakeDns;
  before(async () => {
    fake = await startFakeDns(ZONE, KEY);
  });
  after(() => fake.close());
  beforeEach(() => {
    fake.records.clear();
    fake.updates = 0;
    fake.mode = 'normal';
  });
  const method = () => ({ kind: 'rfc2136' as const, server: { address: '127.0.0.1', port: fake.port }, key: KEY });

  it('updates what differs, A and AAAA apart, and sends nothing when all is right', async () => {
    const path = statePath();
    const name = `host.${ZONE}`;
    const first = await updateName({
      name,
      addresses: { A: '192.0.2.1', AAAA: '2001:db8::1' },
      method: method(),
      statePath: path,
    });
    assert.equal(first.zone, ZONE);
    assert.deepEqual(
      first.records.map((r) => [r.type, r.changed]),
      [
        ['A', true],
        ['AAAA', true],
      ],
    );
    assert.equal(fake.updates, 2);
    const same = await updateName({
      name,
      addresses: { A: '192.0.2.1', AAAA: '2001:db8::1' },
      method: method(),
      statePath: path,
    });
    assert.equal(same.updates, 0);
    assert.equal(fake.updates, 2);
    const moved = await updateName({
      name,
      addresses: { A: '192.0.2.1', AAAA: '2001:db8::2' },
      method: method(),
      statePath: path,
    });
    assert.deepEqual(
      moved.records.map((r) => [r.type, r.changed]),
      [
        ['A', false],
        ['AAAA', true],
      ],
    );
    assert.deepEqual(fake.records.get(name)?.get('AAAA'), ['2001:db8::2']);
    assert.equal(fake.updates, 3);
    assert.equal((statSync(path).mode & 0o777).toString(8), '600');
    assert.deepEqual(
      readdirSync(join(path, '..')).filter((f) => f.endsWith('.tmp')),
      [],
    );
  });

  it('keepName: one update per change, none while unchanged, and the rate limit defers a quick second change', async () => {
    const name = `keep.${ZONE}`;
    const sequence = ['192.0.2.1', '192.0.2.1', '192.0.2.2', '192.0.2.2', '192.0.2.2'];
    const seen: number[] = [];
    let round = 0;
    const result = await keepName({
      name,
      method: method(),
      statePath: statePath(),
      intervalMs: 1,
      rounds: sequence.length,
      publicAddresses: async () => ({ A: sequence[round++] }),
      onRound: ({ report }) => seen.push(report?.updates ?? -1),
    });
    assert.deepEqual(seen, [1, 0, 1, 0, 0]);
    assert.equal(result.updates, 2);
    assert.equal(fake.updates, 2);
    const limited: boolean[] = [];
    round = 0;
    await keepName({
      name: `limited.${ZONE}`,
      method: method(),
      statePath: statePath(),
      intervalMs: 1,
      rounds: 3,
      minUpdateIntervalMs: 60_000,
      publicAddresses: async () => ({ A: ['192.0.2.1', '192.0.2.9', '192.0.2.9'][round++] }),
      onRound: ({ report }) => limited.push(report?.records[0]?.deferred ?? false),
    });
    assert.deepEqual(limited, [false, true, true]);
    assert.deepEqual(fake.records.get(`limited.${ZONE}`)?.get('A'), ['192.0.2.1']);
  });

  it('a passing failure is reported and retried next round; a refusal ends the loop', async () => {
    const outcomes: string[] = [];
    fake.mode = 'refused';
    await assert.rejects(
      keepName({
        name: `refused.${ZONE}`,
        method: method(),
        statePath: statePath(),
        intervalMs: 1,
        rounds: 3,
        publicAddresses: async () => ({ A: '192.0.2.1' }),
        onRound: ({ error }) => outcomes.push(error?.code ?? 'ok'),
      }),
      coded('E_DNS_REFUSED'),
    );
    assert.deepEqual(outcomes, ['E_DNS_REFUSED']);
    outcomes.length = 0;
    fake.mode = 'normal';
    let calls = 0;
    await keepName({
      name: `flaky.${ZONE}`,
      method: method(),
      statePath: statePath(),
      intervalMs: 1,
      rounds: 2,
      publicAddresses: async () => {
        if (calls++ === 0) throw new PortholeError('E_DNS_NO_ADDRESS');
        return { A: '192.0.2.1' };
      },
      onRound: ({ error }) => outcomes.push(error?.code ?? 'ok'),
    });
    assert.deepEqual(outcomes, ['E_DNS_NO_ADDRESS', 'ok']);
  });

  it('a malformed answer, a forged signature and silence are coded errors', async () => {
    const server = { address: '127.0.0.1', port: fake.port };
    const request = { zone: ZONE, changes: [{ op: 'delete-rrset' as const, name: `x.${ZONE}`, type: 'A' as const }] };
    const quick = { initialTimeoutMs: 50, attempts: 2 };
    fake.mode = 'malformed';
    await assert.rejects(sendUpdate(server, KEY, request, quick), coded('E_MALFORMED_PACKET'));
    fake.mode = 'forged';
    await assert.rejects(sendUpdate(server, KEY, request, quick), coded('E_DNS_RESPONSE_SIGNATURE'));
    fake.mode = 'silent';
    await assert.rejects(sendUpdate(server, KEY, request, quick), coded('E_DNS_NO_ANSWER'));
  });

  it('nothing listening is E_DNS_NO_ANSWER at once (port unreachable), and an abort wins', async () => {
    const started = performance.now();
    const request = { zone: ZONE, changes: [] };
    await assert.rejects(sendUpdate({ address: '127.0.0.1', port: 9 }, KEY, request), coded('E_DNS_NO_ANSWER'));
    assert.ok(performance.now() - started < 1000);
    fake.mode = 'silent';
    await assert.rejects(
      sendUpdate({ address: '127.0.0.1', port: fake.port }, KEY, request, { signal: AbortSignal.timeout(50) }),
      (error: unknown) => !(error instanceof PortholeError && error.code === 'E_DNS_NO_ANSWER'),
    );
  });
});

describe('dyndns2', () => {
  it('decodes every answer the protocol defines, and refuses others', () => {
    for (const answer of Object.keys(DYNDNS2_ANSWERS) as Dyndns2Answer[]) {
      assert.equal(decodeDyndns2Answer(`${answer} 192.0.2.1\n`).answer, answer);
    }
    assert.equal(decodeDyndns2Answer('good 192.0.2.1').address, '192.0.2.1');
    assert.throws(() => decodeDyndns2Answer('<html>hello</html>'), coded('E_DYNDNS_ANSWER'));
  });

  describe('client against a loopback provider', () => {
    let server: Server;
    let answer = 'good';
    const requests: { url: string; agent: string | undefined; auth: string | undefined }[] = [];
    let url: URL;
    before(async () => {
      server = createServer((request, response) => {
        requests.push({
          url: request.url ?? '',
          agent: request.headers['user-agent'],
          auth: request.headers.authorization,
        });
        response.end(`${answer}\n`);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const address = server.address() as { port: number };
      url = new URL(`http://127.0.0.1:${address.port}/nic/update`);
    });
    after(() => new Promise<void>((resolve) => server.close(() => resolve())));
    beforeEach(() => {
      requests.length = 0;
    });
    const account = (password = 'pw') => ({ kind: 'dyndns2' as const, account: { url, user: 'u', password } });

    it('sends hostname and myip with Basic auth and porthole User-Agent; the state remembers the address', async () => {
      answer = 'good 192.0.2.7';
      const path = statePath();
      const report = await updateName({
        name: 'h.example.org',
        addresses: { A: '192.0.2.7' },
        method: account(),
        statePath: path,
        userAgent: 'porthole/test',
      });
      assert.equal(report.records[0]?.changed, true);
      const sent = new URL(requests[0]?.url ?? '', url);
      assert.equal(sent.searchParams.get('hostname'), 'h.example.org');
      assert.equal(sent.searchParams.get('myip'), '192.0.2.7');
      assert.equal(requests[0]?.agent, 'porthole/test');
      assert.equal(requests[0]?.auth, `Basic ${Buffer.from('u:pw').toString('base64')}`);
      // Without an authoritative server to ask, the state says nothing changed: no request.
      const again = await updateName({
        name: 'h.example.org',
        addresses: { A: '192.0.2.7' },
        method: account(),
        statePath: path,
      });
      assert.equal(again.updates, 0);
      assert.equal(requests.length, 1);
    });

    for (const refusal of ['badauth', 'nohost', 'abuse', 'badagent', '!yours'] as const) {
      it(`${refusal} stops further updates until the settings change, and no password is stored`, async () => {
        answer = refusal;
        const path = statePath();
        const options = { name: 'h.example.org', addresses: { A: '192.0.2.8' }, statePath: path };
        await assert.rejects(
          updateName({ ...options, method: account('secret-one') }),
          coded(DYNDNS2_ANSWERS[refusal].code ?? ''),
        );
        await assert.rejects(updateName({ ...options, method: account('secret-one') }), coded('E_DYNDNS_STOPPED'));
        assert.equal(requests.length, 1, 'the stopped settings sent nothing');
        assert.ok(!readFileSync(path, 'utf8').includes('secret-one'));
        answer = 'good 192.0.2.8';
        const fixed = await updateName({ ...options, method: account('secret-two') });
        assert.equal(fixed.updates, 1);
      });
    }

    for (const trouble of ['911', 'dnserr'] as const) {
      it(`${trouble} backs off: the next pass sends nothing until the wait is over`, async () => {
        answer = trouble;
        const path = statePath();
        const options = { name: 'h.example.org', addresses: { A: '192.0.2.9' }, method: account(), statePath: path };
        await assert.rejects(updateName(options), coded(DYNDNS2_ANSWERS[trouble].code ?? ''));
        await assert.rejects(updateName(options), coded('E_DYNDNS_BACKOFF'));
        assert.equal(requests.length, 1);
        // When the wait has passed, it tries again.
        const state = readNameState(path);
        const held = state.names['h.example.org'];
        assert.ok(held?.hold?.until);
        writeNameState(path, {
          ...state,
          names: { 'h.example.org': { ...held, hold: { ...held.hold, until: new Date(0).toISOString() } } },
        });
        answer = 'good 192.0.2.9';
        assert.equal((await updateName(options)).updates, 1);
      });
    }
  });
});

describe('name service users', () => {
  it('hashes with scrypt and verifies only the right password', async () => {
    const hash = await hashPassword('correct horse');
    assert.match(hash, /^scrypt\$16384\$8\$1\$/);
    assert.equal(await verifyPassword('correct horse', hash), true);
    assert.equal(await verifyPassword('wrong', hash), false);
  });

  it('refuses names outside the zone and a name owned twice', () => {
    const user = (name: string, names: string[]) => ({ user: name, password: 'scrypt$1$1$1$AA$AA', names });
    assert.throws(
      () => parseUsers(JSON.stringify({ users: [user('a', ['a.example.org'])] }), ZONE),
      coded('E_DNS_USERS_FILE'),
    );
    assert.throws(
      () => parseUsers(JSON.stringify({ users: [user('a', [`x.${ZONE}`]), user('b', [`x.${ZONE}`])] }), ZONE),
      coded('E_DNS_USERS_FILE'),
    );
  });
});

describe('name service endpoint (injected requests, loopback primary)', () => {
  let fake: FakeDns;
  let app: ReturnType<typeof Fastify>;
  let caller = '203.0.113.1';
  before(async () => {
    fake = await startFakeDns(ZONE, KEY);
    const users = [
      { user: 'alice', password: await hashPassword('a-pw'), names: [`alice.${ZONE}`], trusted: false },
      { user: 'bob', password: await hashPassword('b-pw'), names: [`bob.${ZONE}`], trusted: true },
    ];
    app = Fastify();
    registerNameService(app, {
      zone: ZONE,
      server: { address: '127.0.0.1', port: fake.port },
      key: KEY,
      users,
      callerOf: () => caller,
      requestsPerMinute: 12,
    });
  });
  after(async () => {
    await app.close();
    await fake.close();
  });
  const get = (query: string, user = 'alice', password = 'a-pw', agent = 'test/1') =>
    app.inject({
      method: 'GET',
      url: `/nic/update?${query}`,
      headers: { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`, 'user-agent': agent },
    });

  it('good, nochg, and the refusals, each as dyndns2 words', async () => {
    assert.equal((await get(`hostname=alice.${ZONE}`)).body, 'good 203.0.113.1\n');
    assert.equal((await get(`hostname=alice.${ZONE}&myip=203.0.113.1`)).body, 'nochg 203.0.113.1\n');
    assert.equal(fake.updates, 1);
    assert.equal((await get(`hostname=alice.${ZONE}`, 'alice', 'nope')).body, 'badauth\n');
    assert.equal((await get(`hostname=alice.${ZONE}`, 'mallory', 'x')).body, 'badauth\n');
    assert.equal((await get(`hostname=bob.${ZONE}`)).body, '!yours\n');
    assert.equal((await get(`hostname=carol.${ZONE}`)).body, 'nohost\n');
    assert.equal((await get('hostname=www.example.org')).body, 'nohost\n');
    assert.equal((await get('hostname=alice')).body, 'notfqdn\n');
    assert.equal((await get(`hostname=alice.${ZONE}&myip=198.51.100.1`)).body, '!yours\n');
    assert.equal((await get(`hostname=alice.${ZONE}`, 'alice', 'a-pw', '')).body, 'badagent\n');
    assert.equal(fake.updates, 1, 'no refused request reached the zone');
    // A trusted user may name another address.
    assert.equal((await get(`hostname=bob.${ZONE}&myip=198.51.100.1`, 'bob', 'b-pw')).body, 'good 198.51.100.1\n');
    const noAuth = await app.inject({
      method: 'GET',
      url: `/nic/update?hostname=alice.${ZONE}`,
      headers: { 'user-agent': 't' },
    });
    assert.equal(noAuth.statusCode, 401);
    assert.match(String(noAuth.headers['www-authenticate']), /Basic/);
  });

  it('rate-limits a caller with 911 and Retry-After', async () => {
    caller = '203.0.113.99';
    let limited = 0;
    for (let i = 0; i < 15; i++) {
      const response = await get(`hostname=alice.${ZONE}`, 'zed', 'wrong');
      if (response.statusCode === 429) {
        limited++;
        assert.equal(response.body, '911\n');
        assert.equal(response.headers['retry-after'], '60');
      }
    }
    assert.equal(limited, 3);
  });
});

describe('name service batching', () => {
  it('coalesces concurrent changes into few UPDATE messages, and every caller hears good', async () => {
    const fake = await startFakeDns(ZONE, KEY);
    const names = Array.from({ length: 30 }, (_, i) => `m${i}.${ZONE}`);
    const app = Fastify();
    registerNameService(app, {
      zone: ZONE,
      server: { address: '127.0.0.1', port: fake.port },
      key: KEY,
      users: [{ user: 'many', password: await hashPassword('m-pw'), names, trusted: false }],
      callerOf: () => '203.0.113.5',
      requestsPerMinute: 1000,
    });
    try {
      const auth = `Basic ${Buffer.from('many:m-pw').toString('base64')}`;
      // One request first, so the password check is cached and the rest arrive together.
      await app.inject({
        url: `/nic/update?hostname=${names[0]}`,
        headers: { authorization: auth, 'user-agent': 't' },
      });
      const bodies = await Promise.all(
        names.slice(1).map(async (name) => {
          const response = await app.inject({
            url: `/nic/update?hostname=${name}`,
            headers: { authorization: auth, 'user-agent': 't' },
          });
          return response.body;
        }),
      );
      assert.ok(
        bodies.every((body) => body === 'good 203.0.113.5\n'),
        bodies.join(''),
      );
      for (const name of names) assert.deepEqual(fake.records.get(name)?.get('A'), ['203.0.113.5']);
      assert.ok(fake.updates < names.length / 2, `${fake.updates} UPDATE messages for ${names.length} changes`);
    } finally {
      await app.close();
      await fake.close();
    }
  });
});

describe('name service batching with a refused change', () => {
  it('a change the primary refuses gets dnserr; the others batched with it still succeed', async () => {
    const fake = await startFakeDns(ZONE, KEY);
    const names = Array.from({ length: 12 }, (_, i) => `r${i}.${ZONE}`);
    fake.refuseNames.add(`r5.${ZONE}`);
    const app = Fastify();
    registerNameService(app, {
      zone: ZONE,
      server: { address: '127.0.0.1', port: fake.port },
      key: KEY,
      users: [{ user: 'r', password: await hashPassword('r-pw'), names, trusted: true }],
      callerOf: () => '203.0.113.6',
      requestsPerMinute: 1000,
    });
    try {
      const headers = { authorization: `Basic ${Buffer.from('r:r-pw').toString('base64')}`, 'user-agent': 't' };
      await app.inject({ url: `/nic/update?hostname=${names[0]}`, headers });
      const bodies = await Promise.all(
        names
          .slice(1)
          .map(async (name) => [name, (await app.inject({ url: `/nic/update?hostname=${name}`, headers })).body]),
      );
      for (const [name, body] of bodies) {
        assert.equal(body, name === `r5.${ZONE}` ? 'dnserr\n' : 'good 203.0.113.6\n', `${name}: ${body}`);
      }
      assert.equal(fake.records.get(`r5.${ZONE}`), undefined);
      assert.deepEqual(fake.records.get(`r11.${ZONE}`)?.get('A'), ['203.0.113.6']);
    } finally {
      await app.close();
      await fake.close();
    }
  });
});

describe('name service address spelling', () => {
  it('an IPv6 myip in capitals is the caller’s own address; a malformed one is notfqdn', async () => {
    const fake = await startFakeDns(ZONE, KEY);
    const app = Fastify();
    registerNameService(app, {
      zone: ZONE,
      server: { address: '127.0.0.1', port: fake.port },
      key: KEY,
      users: [{ user: 'v6', password: await hashPassword('v6-pw'), names: [`v6.${ZONE}`], trusted: false }],
      callerOf: () => '2001:db8::5',
      requestsPerMinute: 1000,
    });
    try {
      const headers = { authorization: `Basic ${Buffer.from('v6:v6-pw').toString('base64')}`, 'user-agent': 't' };
      const ok = await app.inject({ url: `/nic/update?hostname=v6.${ZONE}&myip=2001:DB8:0::5`, headers });
      assert.equal(ok.body, 'good 2001:db8::5\n');
      assert.deepEqual(fake.records.get(`v6.${ZONE}`)?.get('AAAA'), ['2001:db8::5']);
      const bad = await app.inject({ url: `/nic/update?hostname=v6.${ZONE}&myip=not-an-ip`, headers });
      assert.equal(bad.body, 'notfqdn\n');
    } finally {
      await app.close();
      await fake.close();
    }
  });
});
