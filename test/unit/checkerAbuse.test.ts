/**
 * The check service's rules under load (issue 19, abuse): requests are injected into the built
 * Fastify app with a chosen peer address, and the probes it makes land on real loopback
 * listeners that record which address each connection reached. Every address a buggy service
 * could be talked into probing is loopback or a documentation range it refuses, so nothing here
 * can send a packet off this machine.
 */
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildChecker } from '../../src/checker/index.js';
import type { CheckRecord, CheckStore } from '../../src/checker/store.js';
import { parseCidrList } from '../../src/net/address.js';
import { freePort } from '../support/ports.js';

const LOOPBACK = parseCidrList('127.0.0.0/8');

/** A listener on address:port that counts connections and the most checks it held at once. */
interface Recorder {
  readonly server: Server;
  accepted: number;
  open: number;
  maxOpen: number;
  /** Local addresses connections arrived at (what was probed). */
  readonly reached: Set<string>;
}

function listen(address: string, port: number, holdMs = 0): Promise<Recorder> {
  const recorder: Recorder = {
    server: createServer(),
    accepted: 0,
    open: 0,
    maxOpen: 0,
    reached: new Set(),
  };
  recorder.server.on('connection', (socket: Socket) => {
    recorder.accepted++;
    recorder.open++;
    recorder.maxOpen = Math.max(recorder.maxOpen, recorder.open);
    recorder.reached.add(socket.localAddress ?? '');
    socket.on('error', () => {});
    // "Open" is the time the service's check is surely still running: from accept until the
    // answer is written (the socket's own close can come after the service started the next check).
    const done = () => {
      recorder.open--;
      if (holdMs > 0) socket.end('PORTHOLE/1 HELLO\n');
    };
    if (holdMs > 0) setTimeout(done, holdMs);
    else socket.once('close', done);
  });
  return new Promise((resolve) => recorder.server.listen(port, address, () => resolve(recorder)));
}

function recordingStore(): CheckStore & { rows: CheckRecord[] } {
  const rows: CheckRecord[] = [];
  return {
    rows,
    record: (check: CheckRecord) => void rows.push(check),
    prune: () => 0,
    recent: () => [],
    close: () => {},
  } as unknown as CheckStore & { rows: CheckRecord[] };
}

function check(app: FastifyInstance, payload: unknown, options: { remoteAddress: string; forwardedFor?: string }) {
  return app.inject({
    method: 'POST',
    url: '/v1/check',
    payload: JSON.stringify(payload),
    headers: {
      'content-type': 'application/json',
      ...(options.forwardedFor ? { 'x-forwarded-for': options.forwardedFor } : {}),
    },
    remoteAddress: options.remoteAddress,
  });
}

/** 500 spoofed X-Forwarded-For values: other loopback addresses, documentation ranges, lists, junk. */
function spoofedValues(): string[] {
  return Array.from({ length: 500 }, (_, i) => {
    switch (i % 5) {
      case 0:
        return `127.2.${i >> 8}.${i & 0xff}`;
      case 1:
        return `198.51.100.${i % 250}`;
      case 2:
        return `203.0.113.${i % 250}, 127.3.0.${i % 250}`;
      case 3:
        return `2001:db8::${i.toString(16)}`;
      default:
        return `not-an-address-${i}, 127.4.0.1`;
    }
  });
}

/**
 * Waits (at most 2 s) until `done` holds: the service answers once its probe has connected, and
 * the listener's accept of that connection can come a moment later.
 */
async function settled(done: () => boolean): Promise<void> {
  for (let waited = 0; !done() && waited < 2000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
}

/** Runs `count` tasks with at most `parallel` at once. */
async function pool<T>(count: number, parallel: number, task: (index: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) {
        const index = next++;
        results[index] = await task(index);
      }
    }),
  );
  return results;
}

describe('check service under abuse', () => {
  let port: number;
  let caller: Recorder;
  before(async () => {
    port = await freePort();
    caller = await listen('127.0.0.1', port);
  });
  after(() => caller.server.close());

  it('10 000 checks from 500 spoofed X-Forwarded-For values through an untrusted peer probe only the real caller', async () => {
    const store = recordingStore();
    const app = await buildChecker(
      {
        allowTargets: LOOPBACK,
        // A trusted proxy exists, but the peer is not it: its header must be ignored.
        trustProxy: parseCidrList('10.0.0.0/8'),
        rateLimitPerMinute: 20_000,
        concurrencyPerCaller: 32,
        // Generous: on a loaded machine a loopback connect can wait on the event loop; "filtered"
        // would be a verdict about the machine, not about whom the service probed.
        probeTimeoutMs: 10_000,
      },
      { store },
    );
    try {
      const spoofed = spoofedValues();
      const before = caller.accepted;
      const statuses = await pool(10_000, 32, async (i) => {
        const response = await check(
          app,
          { ports: String(port) },
          { remoteAddress: '127.0.0.1', forwardedFor: spoofed[i % 500] },
        );
        if (response.statusCode !== 200) return String(response.statusCode);
        const body = response.json() as { target: string; results: { state: string }[] };
        assert.equal(body.target, '127.0.0.1');
        return `200 ${body.results.map((result) => result.state).join()}`;
      });
      assert.deepEqual([...new Set(statuses)], ['200 open'], `outcomes: ${[...new Set(statuses)].join(', ')}`);
      await settled(() => caller.accepted - before >= 10_000);
      assert.equal(caller.accepted - before, 10_000, 'every check probed the caller once');
      assert.deepEqual([...caller.reached], ['127.0.0.1'], 'and nothing else');
      assert.equal(new Set(store.rows.map((row) => `${row.caller} ${row.target}`)).size, 1);
      assert.equal(store.rows[0]?.target, '127.0.0.1');
    } finally {
      await app.close();
    }
  });

  it('spoofed X-Forwarded-For values do not buy an untrusted caller more of the rate limit', async () => {
    const app = await buildChecker({ allowTargets: LOOPBACK, rateLimitPerMinute: 30 });
    try {
      const spoofed = spoofedValues();
      const statuses = await pool(
        200,
        2,
        async (i) =>
          (await check(app, { ports: String(port) }, { remoteAddress: '127.0.0.1', forwardedFor: spoofed[i] }))
            .statusCode,
      );
      assert.equal(statuses.filter((status) => status === 200).length, 30);
      assert.equal(statuses.filter((status) => status === 429).length, 170);
    } finally {
      await app.close();
    }
  });

  it("a trusted proxy's header is honoured: the check probes the forwarded caller", async () => {
    const forwarded = await listen('127.5.0.9', port);
    const app = await buildChecker({ allowTargets: LOOPBACK, trustProxy: parseCidrList('127.0.0.1/32, 10.0.0.0/8') });
    try {
      const response = await check(
        app,
        { ports: String(port) },
        { remoteAddress: '127.0.0.1', forwardedFor: '127.5.0.9' },
      );
      assert.equal(response.statusCode, 200);
      assert.equal(response.json().target, '127.5.0.9');
      await settled(() => forwarded.accepted >= 1);
      assert.deepEqual([...forwarded.reached], ['127.5.0.9']);
      // Several hops: the nearest one that is not our own proxy is the caller; what the client wrote before it is not.
      const hops = await check(
        app,
        { ports: String(port) },
        {
          remoteAddress: '127.0.0.1',
          forwardedFor: '127.6.6.6, 127.5.0.9, 10.1.2.3',
        },
      );
      assert.equal(hops.json().target, '127.5.0.9');
      await settled(() => forwarded.accepted >= 2);
      assert.equal(forwarded.accepted, 2);
      // Through the proxy the forwarded address must still be one the service may probe.
      const refused = await check(
        app,
        { ports: String(port) },
        { remoteAddress: '127.0.0.1', forwardedFor: '192.168.1.7' },
      );
      assert.equal(refused.statusCode, 403);
      assert.equal(refused.json().error.code, 'E_TARGET_NOT_ALLOWED');
    } finally {
      await app.close();
      forwarded.server.close();
    }
  });

  it("reserved-range targets are refused even when they are the caller's own address, unless allowed", async () => {
    const store = recordingStore();
    const strict = await buildChecker({}, { store });
    const reserved = [
      '10.1.2.3',
      '172.16.0.9',
      '192.168.1.20',
      '100.64.0.1',
      '127.0.0.1',
      '169.254.10.10',
      '0.0.0.0',
      '198.51.100.1',
      '203.0.113.5',
      '224.0.0.251',
      '255.255.255.255',
      '::1',
      'fe80::1',
      'fc00::5',
      '2001:db8::1',
      '::ffff:10.0.0.1',
    ];
    try {
      for (const address of reserved) {
        const response = await check(strict, { ports: String(port) }, { remoteAddress: address });
        assert.equal(response.statusCode, 403, address);
        assert.equal(response.json().error.code, 'E_TARGET_NOT_ALLOWED', address);
      }
      assert.equal(store.rows.length, 0, 'nothing was probed');
      const allowed = await buildChecker({ allowTargets: LOOPBACK });
      try {
        const response = await check(allowed, { ports: String(port) }, { remoteAddress: '127.0.0.1' });
        assert.equal(response.statusCode, 200);
        const other = await check(allowed, { ports: String(port) }, { remoteAddress: '10.1.2.3' });
        assert.equal(other.statusCode, 403, 'allowing 127/8 allows nothing else');
      } finally {
        await allowed.close();
      }
    } finally {
      await strict.close();
    }
  });

  it('per-caller concurrency holds under 1 000 parallel requests from 10 callers', async () => {
    const callers = Array.from({ length: 10 }, (_, i) => `127.7.0.${i + 1}`);
    const listeners = await Promise.all(callers.map((address) => listen(address, port, 100)));
    const app = await buildChecker({
      allowTargets: LOOPBACK,
      rateLimitPerMinute: 10_000,
      concurrencyPerCaller: 2,
      probeTimeoutMs: 10_000,
    });
    try {
      const responses = await Promise.all(
        Array.from({ length: 1000 }, (_, i) =>
          check(
            app,
            { ports: String(port), proof: { key: Buffer.alloc(32, 1).toString('base64') } },
            { remoteAddress: callers[i % callers.length] ?? '' },
          ),
        ),
      );
      const statuses = responses.map((response) => response.statusCode);
      const ok = statuses.filter((status) => status === 200).length;
      const busy = responses.filter((response) => response.statusCode === 429);
      assert.equal(ok + busy.length, 1000, `only 200 and 429: ${[...new Set(statuses)].join(', ')}`);
      assert.ok(busy.every((response) => response.headers['retry-after'] === '1'));
      for (const listener of listeners) {
        assert.ok(listener.maxOpen <= 2, `at most 2 probes at once per caller, saw ${listener.maxOpen}`);
        assert.ok(listener.accepted >= 2, 'each caller got its checks through');
      }
      await settled(() => listeners.reduce((sum, listener) => sum + listener.accepted, 0) >= ok);
      assert.equal(
        listeners.reduce((sum, listener) => sum + listener.accepted, 0),
        ok,
        'one probe per admitted check, none for refused ones',
      );
    } finally {
      await app.close();
      for (const listener of listeners) listener.server.close();
    }
  });
});

describe('check service: slow clients', () => {
  it('a client that never finishes its headers is closed after about 10 s, not held for Node’s 60 to 90 s', async () => {
    const { connect } = await import('node:net');
    const app = await buildChecker({ allowTargets: parseCidrList('127.0.0.0/8') });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as { port: number };
    try {
      const started = performance.now();
      const closedAfter = await new Promise<number>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1', () => socket.write('POST /v1/check HTTP/1.1\r\nHost: x\r\n'));
        socket.on('data', () => {});
        socket.on('error', () => {});
        socket.on('close', () => resolve(performance.now() - started));
        // Bounded: far past the 10 s headers timeout, far below Node's default.
        setTimeout(() => {
          socket.destroy();
          reject(new Error('still open after 20 s'));
        }, 20_000).unref();
      });
      assert.ok(closedAfter >= 9_000 && closedAfter < 13_000, `closed after ${Math.round(closedAfter)} ms`);
    } finally {
      await app.close();
    }
  });
});
