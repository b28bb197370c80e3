import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { type AddressInfo, createServer, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { newProofKey, probePorts, probeTcp, probeUdp, startProofListeners } from '../../src/probe/index.js';
import {
  computeProof,
  decodeTcpProbe,
  decodeTcpProof,
  decodeUdpProbe,
  decodeUdpProof,
  encodeTcpProbe,
  encodeTcpProof,
  encodeUdpProbe,
  encodeUdpProof,
  newNonce,
  proofMatches,
  UDP_PROOF_BYTES,
} from '../../src/probe/proofCodec.js';
import { freePort } from '../support/ports.js';

describe('proof codec', () => {
  it('round-trips TCP probe and proof lines', () => {
    const key = newProofKey();
    const nonce = newNonce();
    const decoded = decodeTcpProbe(encodeTcpProbe(nonce));
    assert.ok(decoded?.equals(nonce));
    const proof = decodeTcpProof(encodeTcpProof(key, nonce));
    assert.ok(proof instanceof Buffer);
    assert.equal(proofMatches(key, 'tcp', nonce, proof), true);
    assert.equal(decodeTcpProof(encodeTcpProof(undefined, nonce)), 'hello');
  });

  it('a proof is bound to key, nonce and protocol', () => {
    const key = newProofKey();
    const nonce = newNonce();
    const proof = computeProof(key, 'tcp', nonce);
    assert.equal(proofMatches(newProofKey(), 'tcp', nonce, proof), false);
    assert.equal(proofMatches(key, 'tcp', newNonce(), proof), false);
    assert.equal(proofMatches(key, 'udp', nonce, proof), false);
    assert.equal(proofMatches(key, 'tcp', nonce, proof.subarray(1)), false);
  });

  it('round-trips UDP datagrams; a proof is never larger than the probe', () => {
    const key = newProofKey();
    const nonce = newNonce();
    const probe = encodeUdpProbe(nonce);
    const answer = encodeUdpProof(key, nonce);
    assert.ok(answer.length <= probe.length);
    assert.equal(answer.length, UDP_PROOF_BYTES);
    assert.ok(decodeUdpProbe(probe)?.equals(nonce));
    const decoded = decodeUdpProof(answer);
    assert.ok(decoded?.nonce.equals(nonce));
    assert.equal(proofMatches(key, 'udp', nonce, decoded?.proof ?? Buffer.alloc(0)), true);
  });

  it('refuses probes too small to answer without amplification, too large, or not ours', () => {
    const probe = encodeUdpProbe(newNonce());
    assert.equal(decodeUdpProbe(probe.subarray(0, UDP_PROOF_BYTES - 1)), undefined);
    assert.equal(decodeUdpProbe(Buffer.concat([probe, Buffer.alloc(600)])), undefined);
    assert.equal(decodeUdpProbe(Buffer.from('GET / HTTP/1.0\r\n\r\n'.repeat(4))), undefined);
    assert.equal(decodeTcpProbe('PORTHOLE/1 PROBE xyz\n'), undefined);
    assert.equal(decodeTcpProof('SSH-2.0-OpenSSH_9.2\r\n'), undefined);
  });
});

describe('probeTcp on loopback', () => {
  let plain: Server;
  let plainPort: number;
  before(async () => {
    // A "third-party" server that greets with its own banner.
    plain = createServer((socket) => {
      socket.on('error', () => {}); // Probes reset the connection once they know.
      socket.end('SSH-2.0-OpenSSH_9.2\r\n');
    });
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    plainPort = (plain.address() as AddressInfo).port;
  });
  after(() => plain.close());

  it('open: handshake completed, verified null without a proof request', async () => {
    const result = await probeTcp('127.0.0.1', plainPort, { timeoutMs: 1000 });
    assert.equal(result.state, 'open');
    assert.equal(result.reason, 'syn-ack');
    assert.equal(result.verified, null);
    assert.ok(result.ms >= 0);
  });

  it('closed: refused', async () => {
    const result = await probeTcp('127.0.0.1', await freePort(), { timeoutMs: 1000 });
    assert.deepEqual([result.state, result.reason], ['closed', 'conn-refused']);
  });

  it('open but verified false when another program answers a proof request', async () => {
    const result = await probeTcp('127.0.0.1', plainPort, { timeoutMs: 1000, proofKey: newProofKey() });
    assert.deepEqual([result.state, result.verified, result.reason], ['open', false, 'syn-ack, not porthole']);
  });

  it('verified true from our own listener, false from a listener with another key', async () => {
    const key = newProofKey();
    const port = await freePort();
    const listeners = await startProofListeners([{ protocol: 'tcp', port }], key);
    try {
      assert.equal((await probeTcp('127.0.0.1', port, { timeoutMs: 1000, proofKey: key })).verified, true);
      assert.equal((await probeTcp('127.0.0.1', port, { timeoutMs: 1000, proofKey: newProofKey() })).verified, false);
    } finally {
      await listeners.close();
    }
    assert.equal(listeners.answered.tcp, 2);
  });

  it('aborting rejects and leaves no socket behind', async () => {
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await assert.rejects(probeTcp('127.0.0.1', plainPort, { timeoutMs: 1000, signal: controller.signal }), /stop/);
  });
});

describe('probeUdp on loopback', () => {
  it('closed: ICMP port unreachable', async () => {
    const result = await probeUdp('127.0.0.1', await freePort(), { timeoutMs: 1000 });
    assert.deepEqual([result.state, result.reason], ['closed', 'port-unreach']);
  });

  it('open and verified with our listener; the answer is never larger than the probe', async () => {
    const key = newProofKey();
    const port = await freePort();
    const listeners = await startProofListeners([{ protocol: 'udp', port }], key);
    try {
      const result = await probeUdp('127.0.0.1', port, { timeoutMs: 1000, proofKey: key });
      assert.deepEqual([result.state, result.verified], ['open', true]);
    } finally {
      await listeners.close();
    }
  });

  it('filtered: a socket that swallows datagrams never answers', async () => {
    const silent = createSocket('udp4');
    await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve));
    try {
      const result = await probeUdp('127.0.0.1', silent.address().port, { timeoutMs: 200 });
      assert.deepEqual([result.state, result.reason], ['filtered', 'no-response']);
      assert.ok(result.ms >= 190 && result.ms < 1000, `${result.ms} ms`);
    } finally {
      silent.close();
    }
  });

  it('the listener does not answer a datagram smaller than its answer', async () => {
    const port = await freePort();
    const listeners = await startProofListeners([{ protocol: 'udp', port }], undefined);
    const client = createSocket('udp4');
    try {
      let answered = false;
      client.on('message', () => {
        answered = true;
      });
      await new Promise<void>((resolve) =>
        client.send(encodeUdpProbe(newNonce()).subarray(0, 40), port, '127.0.0.1', () => resolve()),
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(answered, false);
      assert.equal(listeners.answered.udp, 0);
    } finally {
      client.close();
      await listeners.close();
    }
  });
});

describe('probePorts', () => {
  it('keeps the entries order and never exceeds the concurrency', async () => {
    let open = 0;
    let peak = 0;
    const server = createServer((socket) => {
      socket.on('error', () => {});
      open++;
      peak = Math.max(peak, open);
      socket.on('close', () => open--);
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      const closedPort = await freePort();
      const entries = Array.from({ length: 40 }, (_, i) => ({
        protocol: 'tcp' as const,
        port: i % 2 === 0 ? port : closedPort,
      }));
      const results = await probePorts('127.0.0.1', entries, { timeoutMs: 1000, concurrency: 4 });
      assert.deepEqual(
        results.map((result) => result.state),
        entries.map((entry) => (entry.port === port ? 'open' : 'closed')),
      );
      assert.ok(peak <= 4, `peak ${peak}`);
    } finally {
      server.close();
    }
  });

  it('a port already in use cannot be listened on: E_PORT_IN_USE, nothing left bound', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '::', resolve));
    const port = (server.address() as AddressInfo).port;
    const other = await freePort();
    try {
      await assert.rejects(
        startProofListeners(
          [
            { protocol: 'tcp', port: other },
            { protocol: 'tcp', port },
          ],
          undefined,
        ),
        /E_PORT_IN_USE|already in use/,
      );
      // The first listener was closed again: the port is free.
      const again = await startProofListeners([{ protocol: 'tcp', port: other }], undefined);
      await again.close();
    } finally {
      server.close();
    }
  });
});
