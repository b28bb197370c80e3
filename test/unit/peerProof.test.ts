/**
 * Identity by connection: the checker reports its end of each open probe connection and holds it
 * until its answer is out; the probed host finds exactly that peer among its own sockets. Real
 * sockets on loopback: a server, the check service listening, and /proc/net/tcp read for real.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildChecker } from '../../src/checker/index.js';
import { requestCheck } from '../../src/checkerClient/index.js';
import { createLinuxHost } from '../../src/host/index.js';
import { parseProcSockets } from '../../src/host/linuxProcNet.js';
import { parseCidrList } from '../../src/net/address.js';
import { judgePeer, provePeers } from '../../src/probe/peerProof.js';

/** This machine's sockets, read as the doctor reads them (/proc/net). */
const linux = createLinuxHost();
const connections = (ports: readonly number[]) => linux.connections(ports);

const open = { port: 7001, protocol: 'tcp' as const, state: 'open' as const, reason: 'syn-ack', ms: 1, verified: null };

describe('peer proof: the judgement (pure)', () => {
  // Captured from /proc/net/tcp of a LAN host: a LISTEN socket on 7001 and the checker's
  // accepted connection from 203.0.113.254:40000 (0xFE7100CB, port 0x9C40).
  const table = [
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
    '   0: 00000000:1B59 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 101 1 0',
    '   1: 0A4DA8C0:1B59 FE7100CB:9C40 01 00000000:00000000 00:00000000 00000000     0        0 102 1 0',
  ].join('\n');
  const rows = parseProcSockets(table);

  it('finds the exact peer on the local port', () => {
    const identity = judgePeer({ ...open, source: { address: '203.0.113.254', port: 40000 } }, 7001, rows);
    assert.equal(identity.seen, true);
  });

  it('another source port, another local port or an IPv4-mapped form are told apart correctly', () => {
    assert.equal(judgePeer({ ...open, source: { address: '203.0.113.254', port: 40001 } }, 7001, rows).seen, false);
    assert.equal(judgePeer({ ...open, source: { address: '203.0.113.254', port: 40000 } }, 7002, rows).seen, false);
    assert.equal(
      judgePeer({ ...open, source: { address: '::ffff:203.0.113.254', port: 40000 } }, 7001, rows).seen,
      true,
    );
  });

  it('a dual-stack server: the IPv4 connection it accepted on an IPv6 socket (tcp6, ::ffff:…) is the peer', () => {
    // /proc/net/tcp6 of a LAN host whose server listens on [::]:7001 (Node's listen(port)): the
    // checker's IPv4 connection appears as ::ffff:203.0.113.254 to ::ffff:192.168.77.10.
    const tcp6 = parseProcSockets(
      [
        '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
        '   0: 00000000000000000000000000000000:1B59 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 201 1 0',
        '   1: 0000000000000000FFFF00000A4DA8C0:1B59 0000000000000000FFFF0000FE7100CB:9C40 01 00000000:00000000 00:00000000 00000000     0        0 202 1 0',
      ].join('\n'),
    );
    assert.equal(judgePeer({ ...open, source: { address: '203.0.113.254', port: 40000 } }, 7001, tcp6).seen, true);
    assert.equal(judgePeer({ ...open, source: { address: '203.0.113.253', port: 40000 } }, 7001, tcp6).seen, false);
  });

  it('without a table (not Linux) or a source, identity stays unproven, never guessed', () => {
    assert.equal(judgePeer({ ...open, source: { address: '203.0.113.254', port: 40000 } }, 7001, undefined).seen, null);
    assert.equal(judgePeer(open, 7001, rows).seen, null);
    assert.equal(judgePeer({ ...open, state: 'closed' }, 7001, rows).seen, null);
  });
});

describe('peer proof: a real check on loopback', () => {
  let app: FastifyInstance;
  let server: Server;
  let checker: URL;
  let serverPort = 0;
  before(async () => {
    server = createServer((socket) => socket.on('error', () => {}));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    serverPort = (server.address() as { port: number }).port;
    app = await buildChecker({
      allowTargets: parseCidrList('127.0.0.0/8'),
      probeTimeoutMs: 500,
      rateLimitPerMinute: 1000,
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    checker = new URL(`http://127.0.0.1:${(app.server.address() as { port: number }).port}`);
  });
  after(async () => {
    await app.close();
    server.close();
  });

  it('the checker reports its end and holds the connection; this host finds it and calls the port proven', async () => {
    const response = await requestCheck(checker, String(serverPort), undefined);
    const [result] = response.results;
    assert.equal(result?.state, 'open');
    assert.ok(result?.source, 'the checker reports the source of its probe');
    const proven = await provePeers(response.results, connections);
    assert.equal(proven.identities[0]?.seen, true, proven.identities[0]?.evidence);
    assert.equal(proven.results[0]?.verified, true);
    assert.equal(proven.results[0]?.verifiedBy, 'connection');
  });

  it('a server listening dual-stack on :: is found too (its IPv4 peer is in /proc/net/tcp6)', async () => {
    const dual = createServer((socket) => socket.on('error', () => {}));
    await new Promise<void>((resolve) => dual.listen(0, '::', resolve));
    try {
      const port = (dual.address() as { port: number }).port;
      const response = await requestCheck(checker, String(port), undefined);
      assert.equal(response.results[0]?.state, 'open');
      const proven = await provePeers(response.results, connections);
      assert.equal(proven.identities[0]?.seen, true, proven.identities[0]?.evidence);
    } finally {
      dual.close();
    }
  });

  it('the same answer checked against another local port is not proof', async () => {
    const response = await requestCheck(checker, String(serverPort), undefined);
    const proven = await provePeers(response.results, connections, () => serverPort + 1);
    assert.equal(proven.identities[0]?.seen, false);
    assert.equal(proven.results[0]?.verified, null);
  });
});
