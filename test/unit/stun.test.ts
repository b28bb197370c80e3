/** STUN codec, the socket layer's tolerance of bad packets, the responder on loopback, and the verdict logic. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { PortholeError } from '../../src/errors/index.js';
import { discoverNatBehavior, judge, parseTracepath, summarize } from '../../src/nat/index.js';
import { type StunResponder, startStunResponder } from '../../src/nat/responder.js';
import { BINDING_REQUEST, BINDING_SUCCESS, decodeStunMessage, encodeStunMessage } from '../../src/nat/stunCodec.js';
import { openStunSocket, silenceSchedule } from '../../src/nat/stunSocket.js';

const malformed = (error: unknown) => error instanceof PortholeError && error.code === 'E_MALFORMED_PACKET';

function response(): Buffer {
  return encodeStunMessage({
    type: BINDING_SUCCESS,
    transactionId: Buffer.from('0123456789ab'),
    xorMappedAddress: { address: '203.0.113.1', port: 40000 },
    mappedAddress: { address: '203.0.113.1', port: 40000 },
    responseOrigin: { address: '203.0.113.254', port: 3478 },
    otherAddress: { address: '203.0.113.253', port: 3479 },
    software: 'test',
  });
}

describe('STUN codec', () => {
  it('round-trips a response with every attribute RFC 5780 uses, and FINGERPRINT', () => {
    const decoded = decodeStunMessage(response());
    assert.equal(decoded.type, BINDING_SUCCESS);
    assert.deepEqual(decoded.xorMappedAddress, { address: '203.0.113.1', port: 40000 });
    assert.deepEqual(decoded.otherAddress, { address: '203.0.113.253', port: 3479 });
    assert.deepEqual(decoded.responseOrigin, { address: '203.0.113.254', port: 3478 });
    assert.equal(decoded.software, 'test');
    assert.equal(decoded.fingerprint, true);
  });

  it('round-trips a request with CHANGE-REQUEST, and IPv6 XOR addresses', () => {
    const tid = randomBytes(12);
    const request = decodeStunMessage(
      encodeStunMessage({
        type: BINDING_REQUEST,
        transactionId: tid,
        changeRequest: { changeIp: true, changePort: false },
      }),
    );
    assert.deepEqual(request.changeRequest, { changeIp: true, changePort: false });
    assert.deepEqual(Buffer.from(request.transactionId), tid);
    const v6 = decodeStunMessage(
      encodeStunMessage({
        type: BINDING_SUCCESS,
        transactionId: tid,
        xorMappedAddress: { address: '2001:db8::7', port: 1 },
      }),
    );
    assert.deepEqual(v6.xorMappedAddress, { address: '2001:db8::7', port: 1 });
  });

  it('reads a real coturn 4.6.1 answer captured in the lab', () => {
    // Captured from the lab's coturn (4.6.1) for a request with transaction id "porthole-cap".
    const hex = readFileSync(
      new URL('../fixtures/stun/coturn-4.6.1-binding-response.hex', import.meta.url),
      'utf8',
    ).trim();
    const decoded = decodeStunMessage(Buffer.from(hex, 'hex'));
    assert.equal(decoded.type, BINDING_SUCCESS);
    assert.equal(Buffer.from(decoded.transactionId).toString(), 'porthole-cap');
    assert.equal(decoded.xorMappedAddress?.address, '203.0.113.1');
    assert.deepEqual(decoded.xorMappedAddress, decoded.mappedAddress);
    assert.deepEqual(decoded.otherAddress, { address: '203.0.113.253', port: 3479 });
    assert.match(decoded.software ?? '', /^Coturn-4\.6\.1/);
    assert.equal(decoded.fingerprint, true);
  });

  it('refuses truncation, a wrong magic cookie, a FINGERPRINT mismatch, attributes past the end, oversize', () => {
    const good = response();
    assert.throws(() => decodeStunMessage(good.subarray(0, 19)), malformed);
    assert.throws(() => decodeStunMessage(good.subarray(0, good.length - 4)), malformed);
    const cookie = Buffer.from(good);
    cookie.writeUInt32BE(0xdeadbeef, 4);
    assert.throws(() => decodeStunMessage(cookie), malformed);
    const flipped = Buffer.from(good);
    flipped[30] = (flipped[30] ?? 0) ^ 0xff;
    assert.throws(
      () => decodeStunMessage(flipped),
      (error) => malformed(error) && /FINGERPRINT mismatch/.test((error as Error).message),
    );
    const huge = Buffer.from(good);
    huge.writeUInt16BE(0xfff0, 22); // first attribute claims 65520 bytes
    assert.throws(() => decodeStunMessage(huge), malformed);
    assert.throws(() => decodeStunMessage(Buffer.alloc(2000)), malformed);
  });

  it('fuzz: 20,000 mutated messages decode or fail with E_MALFORMED_PACKET, never anything else', () => {
    const seed = response();
    for (let i = 0; i < 20_000; i++) {
      const mutated = Buffer.from(seed.subarray(0, Math.max(1, seed.length - (i % 7 === 0 ? i % seed.length : 0))));
      for (let flips = 0; flips < 1 + (i % 4); flips++)
        mutated[(i * 7919 + flips * 104729) % mutated.length] = (i * 31 + flips) & 0xff;
      try {
        decodeStunMessage(mutated);
      } catch (error) {
        assert.ok(malformed(error), `iteration ${i}: ${(error as Error).message}`);
      }
    }
  });
});

describe('STUN socket and responder on loopback', () => {
  let responder: StunResponder;
  let port: number;
  before(async () => {
    for (let attempt = 0; attempt < 20; attempt++) {
      port = 40000 + Math.floor(Math.random() * 20000);
      try {
        responder = await startStunResponder({ primary: '127.0.0.1', alternate: '127.0.0.2', port });
        return;
      } catch {
        // Port taken: try another (bounded).
      }
    }
    throw new Error('no free port pair for the responder');
  });
  after(() => responder?.close());

  it('answers a Binding request with our address, RESPONSE-ORIGIN and OTHER-ADDRESS', async () => {
    const socket = await openStunSocket('127.0.0.1');
    try {
      const answer = await socket.binding({ address: '127.0.0.1', port });
      assert.deepEqual(answer?.message.xorMappedAddress, { address: '127.0.0.1', port: socket.local.port });
      assert.deepEqual(answer?.message.otherAddress, { address: '127.0.0.2', port: port + 1 });
      const changed = await socket.binding({ address: '127.0.0.1', port }, { changeIp: true, changePort: true });
      assert.deepEqual(changed?.from, { address: '127.0.0.2', port: port + 1 });
      assert.deepEqual(changed?.message.responseOrigin, { address: '127.0.0.2', port: port + 1 });
    } finally {
      socket.close();
    }
  });

  it('garbage, forged answers and wrong transaction ids are warnings, and the real answer still arrives', async () => {
    const socket = await openStunSocket('127.0.0.1');
    const attacker = createSocket('udp4');
    try {
      const pending = socket.binding({ address: '127.0.0.1', port });
      const to = socket.local.port;
      attacker.send(Buffer.from('not stun at all'), to, '127.0.0.1');
      attacker.send(
        encodeStunMessage({
          type: BINDING_SUCCESS,
          transactionId: randomBytes(12),
          xorMappedAddress: { address: '198.51.100.66', port: 1 },
        }),
        to,
        '127.0.0.1',
      );
      const answer = await pending;
      assert.equal(answer?.message.xorMappedAddress?.address, '127.0.0.1');
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.ok(
        socket.warnings.some((warning) => /not STUN|unknown transaction id/.test(warning)),
        socket.warnings.join('; '),
      );
    } finally {
      attacker.close();
      socket.close();
    }
  });

  it('does not answer an oversized request (no amplification lever)', async () => {
    const client = createSocket('udp4');
    let answered = false;
    client.on('message', () => {
      answered = true;
    });
    await new Promise<void>((resolve) => client.bind(0, '127.0.0.1', () => resolve()));
    const big = encodeStunMessage({ type: BINDING_REQUEST, transactionId: randomBytes(12), software: 'x'.repeat(200) });
    client.send(big, port, '127.0.0.1');
    await new Promise((resolve) => setTimeout(resolve, 100));
    client.close();
    assert.equal(answered, false);
  });
});

describe('NAT verdicts', () => {
  const CGNAT_TRACE = ` 1?: [LOCALHOST]                      pmtu 1500
 1:  192.168.77.1                                          0.080ms
 1:  192.168.77.1                                          0.013ms
 2:  100.64.0.1                                            0.034ms
 3:  203.0.113.254                                         0.035ms reached
     Resume: pmtu 1500 hops 3 back 3
`;

  it('reads tracepath output (captured in the cgnat lab)', () => {
    assert.deepEqual(
      parseTracepath(CGNAT_TRACE).map((hop) => [hop.ttl, hop.address, hop.class]),
      [
        [1, '192.168.77.1', 'private'],
        [2, '100.64.0.1', 'cgnat'],
        [3, '203.0.113.254', 'documentation'],
      ],
    );
  });

  it('a 100.64/10 hop after the router means carrier-grade NAT', () => {
    const verdict = judge({
      sightings: [{ source: 'stun', address: '203.0.113.2', detail: '' }],
      routerExternal: '203.0.113.2',
      path: parseTracepath(CGNAT_TRACE),
      hostAddresses: ['192.168.77.10'],
    });
    assert.equal(verdict.cgnat, true);
    assert.match(verdict.evidence.join(' '), /hop 2 .* 100\.64\.0\.1/);
    assert.match(summarize(verdict), /carrier-grade NAT: inbound connections cannot reach you/);
  });

  it('a router external address in 100.64/10, or different from what the internet sees, means carrier-grade NAT', () => {
    assert.equal(judge({ sightings: [], routerExternal: '100.80.1.2', path: [], hostAddresses: [] }).cgnat, true);
    const differs = judge({
      sightings: [{ source: 'stun', address: '198.51.100.9', detail: '' }],
      routerExternal: '198.51.100.200',
      path: [],
      hostAddresses: [],
    });
    assert.equal(differs.cgnat, true);
    assert.equal(differs.agreed, true, 'the router is not an outside source: agreement counts stun and checker');
  });

  it('a private router external address, or a private second hop, means double NAT', () => {
    assert.equal(judge({ sightings: [], routerExternal: '192.168.0.10', path: [], hostAddresses: [] }).doubleNat, true);
    const hops = parseTracepath(' 1:  192.168.77.1  0.1ms\n 2:  10.0.0.1  0.2ms\n 3:  203.0.113.254  0.3ms reached\n');
    assert.equal(judge({ sightings: [], routerExternal: undefined, path: hops, hostAddresses: [] }).doubleNat, true);
  });

  it('the public address on the host itself means no NAT', () => {
    const verdict = judge({
      sightings: [{ source: 'stun', address: '198.51.100.9', detail: '' }],
      routerExternal: undefined,
      path: [],
      hostAddresses: ['198.51.100.9'],
    });
    assert.deepEqual([verdict.noNat, verdict.cgnat, verdict.doubleNat], [true, false, false]);
  });
});

describe('STUN: how long silence is waited for', () => {
  it('a nearby server is answered for sooner, a far one keeps the full wait, never under the floor', () => {
    assert.deepEqual(silenceSchedule(1), { sendAtMs: [0, 67, 200], giveUpMs: 400 });
    assert.equal(silenceSchedule(60).giveUpMs, 730);
    assert.equal(silenceSchedule(200).giveUpMs, 900);
    assert.equal(silenceSchedule(-5).giveUpMs, 400);
  });

  it('a first round trip timed while the process was busy is checked once more, and the least is used', async () => {
    // A server on loopback whose first answer waits while the process is held busy (the client shares
    // this event loop, as the doctor's steps share one), and whose second answers at once.
    const server = createSocket('udp4');
    let requests = 0;
    server.on('message', (message, remote) => {
      const request = decodeStunMessage(message);
      requests++;
      if (requests === 1) {
        const until = performance.now() + 150;
        while (performance.now() < until) {
          // Busy, as a garbage collection or a child process starting holds the loop.
        }
      }
      server.send(
        encodeStunMessage({
          type: BINDING_SUCCESS,
          transactionId: request.transactionId,
          xorMappedAddress: { address: remote.address, port: remote.port },
        }),
        remote.port,
        remote.address,
      );
    });
    await new Promise<void>((resolve) => server.bind(0, '127.0.0.1', resolve));
    try {
      const findings = await discoverNatBehavior({ address: '127.0.0.1', port: server.address().port });
      const first = Number(/test I: .*, ([\d.]+) ms/.exec(findings.evidence.join('\n'))?.[1]);
      const judged = Number(/silence is judged on ([\d.]+) ms/.exec(findings.evidence.join('\n'))?.[1]);
      assert.ok(first >= 150, findings.evidence.join('\n'));
      assert.ok(judged < first && judged < 50, findings.evidence.join('\n'));
    } finally {
      server.close();
    }
  });
});
