/**
 * The egress listener and sweep on loopback: signed answers, the HTTP form the page uses, UDP
 * echo never larger than the request, and the verdicts for refused, silent and foreign
 * answerers. The redirect ruleset is checked as text here and applied in the lab tests.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  decodeEgressUdpHello,
  EGRESS_UDP_HELLO_SIZE,
  egressHttpAnswer,
  encodeEgressAnswer,
  encodeEgressUdpHello,
} from '../../src/egress/bannerCodec.js';
import { type EgressListener, newEgressKey, startEgressListener } from '../../src/egress/listener.js';
import { planForPorts } from '../../src/egress/plan.js';
import { renderRedirect, subtractPorts } from '../../src/egress/redirect.js';
import { SweepTiming, sweepEgress } from '../../src/egress/sweep.js';
import { freePort } from '../support/ports.js';

function serve(onConnection: (socket: import('node:net').Socket) => void): Promise<{ server: Server; port: number }> {
  return new Promise((resolve) => {
    const server = createServer(onConnection);
    server.listen({ host: '127.0.0.1', port: 0 }, () =>
      resolve({ server, port: (server.address() as { port: number }).port }),
    );
  });
}

describe('egress codec extras', () => {
  it('the UDP hello is padded so the signed answer is never larger than it', () => {
    const { privateKey } = newEgressKey();
    const hello = encodeEgressUdpHello(4500, 'ab'.repeat(16));
    assert.equal(hello.length, EGRESS_UDP_HELLO_SIZE);
    assert.deepEqual(decodeEgressUdpHello(hello), { port: 4500, nonce: 'ab'.repeat(16) });
    const answer = egressHttpAnswer(
      privateKey,
      `GET /probe?port=443&nonce=${'cd'.repeat(16)} HTTP/1.1\r\nHost: x\r\n\r\n`,
    );
    assert.match(answer ?? '', /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(answer ?? '', /Access-Control-Allow-Origin: \*/);
    assert.match(answer ?? '', /"port":443,"nonce":"cdcd/);
    assert.equal(egressHttpAnswer(privateKey, 'GET /other HTTP/1.1\r\n\r\n'), undefined);
    assert.equal(decodeEgressUdpHello(Buffer.from('hello')), undefined);
  });

  it('the service ports are cut out of the redirected ranges', () => {
    assert.deepEqual(subtractPorts([{ protocol: 'tcp', start: 1, end: 10 }], [1, 5, 10, 11]), [
      { protocol: 'tcp', start: 2, end: 4 },
      { protocol: 'tcp', start: 6, end: 9 },
    ]);
  });

  it('the redirect sends only the asked ports of one address to the listener, for remote and local clients', () => {
    const text = renderRedirect(
      {
        address: '203.0.113.253',
        family: 4,
        rules: [
          {
            protocol: 'tcp',
            ranges: [
              { protocol: 'tcp', start: 1, end: 79 },
              { protocol: 'tcp', start: 81, end: 65535 },
            ],
            toPort: 40000,
          },
        ],
      },
      'porthole_egress_1',
    );
    assert.match(text, /^table ip porthole_egress_1 \{/);
    assert.equal(
      text.match(/ip daddr 203\.0\.113\.253 tcp dport \{ 1-79, 81-65535 \} dnat to 203\.0\.113\.253:40000/g)?.length,
      2,
    );
    assert.match(text, /hook prerouting priority dstnat/);
    assert.match(text, /hook output priority -100/);
  });

  it('the timing starts at the initial deadline, learns from samples, and stays within its bounds', () => {
    const timing = new SweepTiming(1000, 100, 1500);
    assert.equal(timing.timeoutMs(), 1000);
    timing.sample(2);
    assert.equal(timing.timeoutMs(), 100, 'a fast network: the floor');
    for (let i = 0; i < 20; i++) timing.sample(300);
    assert.ok(timing.timeoutMs() >= 300 && timing.timeoutMs() <= 1500);
    for (let i = 0; i < 20; i++) timing.sample(5000);
    assert.equal(timing.timeoutMs(), 1500, 'a slow network: the ceiling');
  });
});

describe('egress listener and sweep on loopback', () => {
  let listener: EgressListener;
  let ports: number[];
  let closedPort: number;
  const others: Server[] = [];
  let foreignPort: number;
  let silentPort: number;
  let wrongKeyPort: number;

  before(async () => {
    ports = [await freePort(), await freePort()];
    closedPort = await freePort();
    listener = await startEgressListener({
      address: '127.0.0.1',
      tcp: ports.map((port) => ({ protocol: 'tcp' as const, start: port, end: port })),
      udp: [{ protocol: 'udp', start: ports[0] ?? 0, end: ports[0] ?? 0 }],
      exclude: [],
    });
    const foreign = await serve((socket) => socket.end('HTTP/1.1 302 Found\r\nLocation: http://portal/\r\n\r\n'));
    const silent = await serve(() => {});
    // A porthole listener with another key: right protocol, wrong signer.
    const other = newEgressKey();
    const wrongKeyServer = await serve((socket) => {
      socket.once('data', (chunk) => {
        const [, port, nonce] = /PORTHOLE-EGRESS\/1 (\d+) ([0-9a-f]{32})/.exec(chunk.toString()) ?? [];
        socket.end(encodeEgressAnswer(other.privateKey, Number(port), nonce ?? ''));
      });
    });
    others.push(foreign.server, silent.server, wrongKeyServer.server);
    foreignPort = foreign.port;
    silentPort = silent.port;
    wrongKeyPort = wrongKeyServer.port;
  });
  after(async () => {
    await listener.close();
    for (const server of others) server.close();
  });

  it('answers the handshake signed, over TCP and UDP, and tells every other answerer apart', async () => {
    const [a = 0, b = 0] = ports;
    const entries = [a, b, closedPort, foreignPort, silentPort].map((port) => ({ protocol: 'tcp' as const, port }));
    const report = await sweepEgress(
      [{ host: '127.0.0.1', entries: [...entries, { protocol: 'udp', port: a }], handshake: 'banner' }],
      { publicKey: listener.publicKey, initialTimeoutMs: 300 },
    );
    const by = (port: number, protocol = 'tcp') =>
      report.results.find((r) => r.port === port && r.protocol === protocol);
    assert.deepEqual([by(a)?.state, by(a)?.reason], ['allowed', 'signed']);
    assert.deepEqual([by(b)?.state, by(b)?.reason], ['allowed', 'signed']);
    assert.deepEqual([by(a, 'udp')?.state, by(a, 'udp')?.reason], ['allowed', 'signed']);
    assert.deepEqual([by(closedPort)?.state, by(closedPort)?.reason], ['blocked', 'refused']);
    assert.deepEqual([by(foreignPort)?.state, by(foreignPort)?.reason], ['intercepted', 'foreign-answer']);
    assert.deepEqual([by(silentPort)?.state, by(silentPort)?.reason], ['intercepted', 'no-answer']);
    assert.equal(listener.answered.tcp, 2);
    assert.equal(listener.answered.udp, 1);
  });

  it('an answer signed by another key is not the service: intercepted', async () => {
    const report = await sweepEgress(
      [{ host: '127.0.0.1', entries: [{ protocol: 'tcp', port: wrongKeyPort }], handshake: 'banner' }],
      { publicKey: listener.publicKey },
    );
    assert.deepEqual([report.results[0]?.state, report.results[0]?.reason], ['intercepted', 'foreign-answer']);
    const unsigned = await sweepEgress(
      [{ host: '127.0.0.1', entries: [{ protocol: 'tcp', port: wrongKeyPort }], handshake: 'banner' }],
      {},
    );
    assert.deepEqual([unsigned.results[0]?.state, unsigned.results[0]?.reason], ['allowed', 'nonce']);
  });

  it('a UDP hello smaller than the answer gets no answer', async () => {
    const socket = createSocket('udp4');
    const got: Buffer[] = [];
    socket.on('message', (message) => got.push(message));
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
    const short = Buffer.from(`PORTHOLE-EGRESS/1 ${ports[0]} ${'ab'.repeat(16)}\n`);
    socket.send(short, ports[0] ?? 0, '127.0.0.1');
    socket.send(encodeEgressUdpHello(ports[0] ?? 0, 'cd'.repeat(16)), ports[0] ?? 0, '127.0.0.1');
    await new Promise((resolve) => setTimeout(resolve, 200));
    socket.close();
    assert.equal(got.length, 1, 'only the padded hello is answered');
    assert.ok((got[0]?.length ?? 0) <= EGRESS_UDP_HELLO_SIZE);
    assert.match(got[0]?.toString() ?? '', / cdcdcd/);
  });

  it('the page form: a browser GET /probe is answered with CORS', async () => {
    const nonce = 'ef'.repeat(16);
    const response = await fetch(`http://127.0.0.1:${ports[1]}/probe?port=${ports[1]}&nonce=${nonce}`);
    assert.equal(response.headers.get('access-control-allow-origin'), '*');
    const body = (await response.json()) as { port: number; nonce: string; signature: string };
    assert.equal(body.port, ports[1]);
    assert.equal(body.nonce, nonce);
  });

  it('ports the service does not answer on are untested, not blocked', () => {
    const plan = planForPorts({ host: '127.0.0.1', tcp: [{ protocol: 'tcp', start: 80, end: 80 }], udp: [] }, [
      { protocol: 'tcp', start: 80, end: 81 },
      { protocol: 'udp', start: 53, end: 53 },
    ]);
    assert.deepEqual(plan.targets[0]?.entries, [{ protocol: 'tcp', port: 80 }]);
    assert.deepEqual(
      plan.untested.map((r) => [r.port, r.protocol, r.reason]),
      [
        [81, 'tcp', 'not-served'],
        [53, 'udp', 'not-served'],
      ],
    );
  });

  it('a descriptor limit below the concurrency slows the sweep down instead of failing ports', async (t) => {
    // prlimit gives the sweep ~40 free descriptors for 200 attempts at once: connect() hits EMFILE.
    const bin = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));
    const args = ['--nofile=64:64', process.execPath, bin, 'egress', '--target', '127.0.0.1', '--ports', '40000-40300'];
    const run = spawnSync('prlimit', [...args, '--concurrency', '200', '--json'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    if (run.error) {
      t.skip(`prlimit is not available: ${run.error.message}`);
      return;
    }
    const report = JSON.parse(run.stdout) as { results: { state: string; reason: string }[] };
    assert.equal(report.results.length, 301);
    assert.deepEqual(
      report.results.filter((r) => r.state === 'untested' || r.reason === 'emfile'),
      [],
      'every port got a verdict',
    );
  });

  it('refuses a wildcard address', async () => {
    await assert.rejects(
      startEgressListener({ address: '0.0.0.0', tcp: [], udp: [], exclude: [] }),
      (error: { code?: string }) => error.code === 'E_USAGE',
    );
  });
});
