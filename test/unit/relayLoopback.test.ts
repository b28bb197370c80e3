/**
 * The relay client and `porthole relay serve` against each other on loopback, without root:
 * tunnels, PROXY headers, WebSocket transport, refusals, host-key pinning, UDP, reconnect.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import ssh2 from 'ssh2';

// ssh2 is CommonJS: its named exports are read off the default export.
const { utils } = ssh2;

import { isPortholeError } from '../../src/errors/index.js';
import { generateEd25519KeyPair } from '../../src/relay/hostKey.js';
import {
  createRelayServer,
  decodeProxyHeader,
  openRelay,
  parseTenants,
  type RelayServer,
  verifyRelay,
} from '../../src/relay/index.js';
import { freePort } from '../support/ports.js';

const dir = mkdtempSync(join(tmpdir(), 'porthole-relay-'));
const keyPair = generateEd25519KeyPair('client');
const otherPair = generateEd25519KeyPair('other');
const identity = join(dir, 'id_ed25519');
const otherIdentity = join(dir, 'other');
writeFileSync(identity, keyPair.private, { mode: 0o600 });
writeFileSync(otherIdentity, otherPair.private, { mode: 0o600 });
const TOKEN = 'a-token-of-sixteen-or-more';

/** Sends `text` to 127.0.0.1:port and collects everything until the server closes (bounded: 3 s by default). */
function exchange(port: number, text: string, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let received = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(received);
    }, timeoutMs);
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(received);
    });
    socket.end(text);
  });
}

/** A local server that answers each connection with what it saw: the first bytes, upper-cased. */
async function upperServer(): Promise<{ server: Server; port: number; seen: Buffer[] }> {
  const seen: Buffer[] = [];
  const server = createServer((socket) => {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('end', () => {
      const all = Buffer.concat(chunks);
      seen.push(all);
      socket.end(all.toString('latin1').toUpperCase());
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, seen };
}

describe('relay client and porthole relay serve on loopback', () => {
  let relay: RelayServer;
  let relayPort: number;
  let local: Awaited<ReturnType<typeof upperServer>>;
  // Below Linux's ephemeral range (32768-60999), where outgoing connections could hold a port.
  const poolStart = 21000 + Math.floor(Math.random() * 10_000);

  before(async () => {
    local = await upperServer();
    const tenants = parseTenants(
      [
        'tenants:',
        '  - name: alice',
        `    key: "${keyPair.public}"`,
        `    pool: ${poolStart}-${poolStart + 20}`,
        '    udp: true',
        '  - name: carol',
        `    key: "${keyPair.public}"`,
        `    pool: ${poolStart + 40}-${poolStart + 45}`,
        '    maxTunnels: 1',
        '    maxConnections: 1',
        '    maxBytesPerSecond: 1048576',
        '  - name: bob',
        `    token: ${TOKEN}`,
        `    ports: [${poolStart + 30}]`,
      ].join('\n'),
    );
    relay = await createRelayServer({
      listen: [{ host: '127.0.0.1', port: 0 }],
      tenants,
      dataDir: join(dir, 'relay'),
      publicHost: '127.0.0.1',
      metrics: { host: '127.0.0.1', port: 0 },
    });
    relayPort = relay.addresses[0]?.port ?? 0;
  });
  after(async () => {
    await relay.close();
    local.server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const url = () => `ssh://alice@127.0.0.1:${relayPort}`;

  it('opens a public port from the pool and carries a connection to the local server', async () => {
    const tunnel = await openRelay({ url: url(), localPort: local.port, identityFile: identity, dataDir: dir });
    try {
      assert.equal(tunnel.hostKey, 'recorded');
      assert.ok(tunnel.publicPort >= poolStart && tunnel.publicPort <= poolStart + 20);
      assert.equal(tunnel.publicAddress, `127.0.0.1:${tunnel.publicPort}`);
      assert.equal(await exchange(tunnel.publicPort, 'hello relay'), 'HELLO RELAY');
      assert.deepEqual(relay.tunnels(), [{ tenant: 'alice', protocol: 'tcp', port: tunnel.publicPort }]);
      const verification = await verifyRelay(tunnel.publicAddress, { localPort: local.port, tunnel });
      assert.equal(verification.verified, true);
      assert.equal(verification.method, 'tunnel-channel');
      assert.match(
        readFileSync(join(dir, 'known_hosts'), 'utf8'),
        new RegExp(`^\\[127\\.0\\.0\\.1\\]:${relayPort} ssh-ed25519 `),
      );
    } finally {
      await tunnel.dispose();
    }
    assert.deepEqual(relay.tunnels(), []);
  });

  it('carries 8 MiB intact to a visitor that half-closes at once (EOF never overtakes data)', async () => {
    const sink = createServer({ allowHalfOpen: true }, (socket) => {
      // A slow start fills the SSH window, so the relay still holds data when the visitor's FIN comes.
      socket.pause();
      setTimeout(() => socket.resume(), 300);
      let count = 0;
      socket.on('data', (chunk) => {
        count += chunk.length;
      });
      socket.on('end', () => socket.end(String(count)));
    });
    await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
    const tunnel = await openRelay({
      url: url(),
      localPort: (sink.address() as AddressInfo).port,
      identityFile: identity,
      dataDir: dir,
    });
    try {
      const size = 8 * 2 ** 20;
      assert.equal(await exchange(tunnel.publicPort, 'x'.repeat(size)), String(size));
    } finally {
      await tunnel.dispose();
      sink.close();
    }
  });

  it('proves the path with a nonce when the local server is not up yet', async () => {
    const localPort = await freePort();
    const tunnel = await openRelay({ url: url(), localPort, identityFile: identity, dataDir: dir });
    try {
      const verification = await verifyRelay(tunnel.publicAddress, { localPort, tunnel });
      assert.deepEqual([verification.verified, verification.method], [true, 'proof-listener']);
    } finally {
      await tunnel.dispose();
    }
  });

  it('sends a PROXY v1 or v2 header with the visitor address first', async () => {
    for (const version of ['v1', 'v2'] as const) {
      const tunnel = await openRelay({
        url: url(),
        localPort: local.port,
        identityFile: identity,
        dataDir: dir,
        proxyProtocol: version,
      });
      try {
        const before = local.seen.length;
        await exchange(tunnel.publicPort, 'x');
        const seen = local.seen[before];
        assert.ok(seen);
        const decoded = decodeProxyHeader(seen);
        assert.ok(decoded && decoded.header.command === 'proxy');
        assert.equal(decoded.header.version, version);
        assert.equal(decoded.header.sourceAddress, '127.0.0.1');
        assert.equal(decoded.header.destinationPort, tunnel.publicPort);
        assert.equal(seen.subarray(decoded.length).toString(), 'x');
      } finally {
        await tunnel.dispose();
      }
    }
  });

  it('comes up over WebSocket on the same port, and with a token', async () => {
    const tunnel = await openRelay({
      url: `ssh://bob:${TOKEN}@127.0.0.1:${relayPort}`,
      localPort: local.port,
      dataDir: dir,
      remotePort: poolStart + 30,
      transports: [{ kind: 'websocket', port: relayPort }],
    });
    try {
      assert.equal(tunnel.transport, `websocket:${relayPort}`);
      assert.equal(tunnel.publicPort, poolStart + 30);
      assert.equal(await exchange(tunnel.publicPort, 'over ws'), 'OVER WS');
    } finally {
      await tunnel.dispose();
    }
  });

  it('refuses a port the tenant does not own, a wrong key, and a wrong token, with codes', async () => {
    await assert.rejects(
      openRelay({
        url: url(),
        localPort: local.port,
        identityFile: identity,
        dataDir: dir,
        remotePort: poolStart + 30,
      }),
      (error) => isPortholeError(error) && error.code === 'E_RELAY_FORWARD_REFUSED',
    );
    await assert.rejects(
      openRelay({ url: url(), localPort: local.port, identityFile: otherIdentity, dataDir: dir, env: {} }),
      (error) => isPortholeError(error) && error.code === 'E_RELAY_AUTH',
    );
    await assert.rejects(
      openRelay({ url: `ssh://bob:wrong-token-wrong-token@127.0.0.1:${relayPort}`, localPort: 1, dataDir: dir }),
      (error) => isPortholeError(error) && error.code === 'E_RELAY_AUTH',
    );
    assert.deepEqual(relay.tunnels(), []);
    const metrics = await fetch(`http://127.0.0.1:${relay.metricsAddress?.port}/metrics`).then((r) => r.text());
    assert.match(metrics, /porthole_relay_refusals_total\{reason="port-not-owned"\} 1/);
    assert.match(metrics, /porthole_relay_refusals_total\{reason="auth"\} 2/);
    assert.match(metrics, /porthole_relay_connections_total\{tenant="alice"\} [1-9]/);
    assert.match(metrics, /porthole_relay_bytes_total\{tenant="alice",direction="in"\} [1-9]/);
  });

  it('holds a tenant to its tunnel, connection and bandwidth caps', async () => {
    const carol = `ssh://carol@127.0.0.1:${relayPort}`;
    const first = await openRelay({ url: carol, localPort: local.port, identityFile: identity, dataDir: dir });
    const held = connect({ host: '127.0.0.1', port: first.publicPort });
    const heldConnected = new Promise((resolve) => held.once('connect', resolve));
    try {
      await assert.rejects(
        openRelay({ url: carol, localPort: local.port, identityFile: identity, dataDir: dir }),
        (error) => isPortholeError(error) && error.code === 'E_RELAY_FORWARD_REFUSED',
      );
      // One visitor holds the only connection (it has not ended); a second is closed unanswered.
      await heldConnected;
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(await exchange(first.publicPort, 'second'), '');
      held.end('first');
      const answer = await new Promise<string>((resolve) => {
        let text = '';
        held.on('data', (chunk) => {
          text += chunk.toString();
        });
        held.on('close', () => resolve(text));
      });
      assert.equal(answer, 'FIRST');
      // 1 MiB/s with a one-second burst: 3 MiB in cannot arrive in much under 2 s.
      const started = performance.now();
      const size = 3 * 2 ** 20;
      assert.equal((await exchange(first.publicPort, 'y'.repeat(size), 10_000)).length, size);
      const seconds = (performance.now() - started) / 1000;
      assert.ok(seconds > 1.7, `3 MiB took ${seconds.toFixed(2)} s under a 1 MiB/s cap`);
    } finally {
      held.destroy();
      await first.dispose();
    }
  });

  it('notices a relay that stops answering (keepalives) and says so', async () => {
    // A TCP hop between client and relay that can be frozen: packets stop, nothing closes.
    let frozen = false;
    const hops = new Set<import('node:net').Socket>();
    const hop = createServer((inbound) => {
      const outbound = connect({ host: '127.0.0.1', port: relayPort });
      hops.add(inbound).add(outbound);
      inbound.on('data', (chunk) => frozen || outbound.write(chunk));
      outbound.on('data', (chunk) => frozen || inbound.write(chunk));
      inbound.on('error', () => outbound.destroy());
      outbound.on('error', () => inbound.destroy());
    });
    await new Promise<void>((resolve) => hop.listen(0, '127.0.0.1', resolve));
    const hopPort = (hop.address() as AddressInfo).port;
    const knownHosts = join(dir, 'hop');
    const tunnel = await openRelay({
      url: `ssh://alice@127.0.0.1:${hopPort}`,
      localPort: local.port,
      identityFile: identity,
      dataDir: knownHosts,
      keepaliveIntervalMs: 200,
    });
    try {
      const started = Date.now();
      const noticed = new Promise<number>((resolve) =>
        tunnel.events.once('disconnected', () => resolve(Date.now() - started)),
      );
      frozen = true;
      const ms = await Promise.race([noticed, new Promise<number>((resolve) => setTimeout(() => resolve(-1), 5000))]);
      // 3 unanswered keepalives 200 ms apart: noticed in about 0.6-0.8 s (45 s with the 15 s default).
      assert.ok(ms > 0 && ms < 2000, `noticed after ${ms} ms`);
    } finally {
      await tunnel.dispose();
      for (const socket of hops) socket.destroy();
      hop.close();
    }
  });

  it('refuses a changed host key with the fix, and a bad URL as usage', async () => {
    const pinned = join(dir, 'pinned');
    mkdirSync(pinned, { recursive: true });
    const stranger = utils.parseKey(otherPair.public);
    assert.ok(!(stranger instanceof Error));
    const blob = (Array.isArray(stranger) ? stranger[0] : stranger).getPublicSSH();
    writeFileSync(join(pinned, 'known_hosts'), `[127.0.0.1]:${relayPort} ssh-ed25519 ${blob.toString('base64')}\n`);
    await assert.rejects(
      openRelay({ url: url(), localPort: local.port, identityFile: identity, dataDir: pinned }),
      (error) =>
        isPortholeError(error) && error.code === 'E_RELAY_HOST_KEY_CHANGED' && error.hint.includes('ssh-keygen -R'),
    );
    await assert.rejects(
      openRelay({ url: 'http://relay', localPort: 1, dataDir: dir }),
      (error) => isPortholeError(error) && error.code === 'E_RELAY_URL' && error.kind === 'usage',
    );
    assert.deepEqual(relay.tunnels(), []);
  });

  it('answers a plain GET with 426 and drops bytes that are neither SSH nor HTTP, staying up', async () => {
    assert.match(await exchange(relayPort, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n'), /^HTTP\/1\.1 426 /);
    assert.equal(await exchange(relayPort, '\x16\x03\x01 not ours'), '');
    const tunnel = await openRelay({ url: url(), localPort: local.port, identityFile: identity, dataDir: dir });
    await tunnel.dispose();
  });

  it('comes up through an HTTP CONNECT proxy, and names a proxy that refuses', async () => {
    // A minimal CONNECT proxy (squid does this in the lab): one head, then bytes both ways.
    const requests: string[] = [];
    const proxy = createServer((client) => {
      client.once('data', (head) => {
        const line = head.toString('latin1').split('\r\n')[0] ?? '';
        requests.push(line);
        const [, target = ''] = line.split(' ');
        const port = Number(target.split(':').pop());
        if (port !== relayPort) {
          client.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n');
          return;
        }
        const upstream = connect({ host: '127.0.0.1', port }, () => {
          client.write('HTTP/1.1 200 Connection established\r\n\r\n');
          client.pipe(upstream).pipe(client);
        });
        upstream.on('error', () => client.destroy());
        client.on('error', () => upstream.destroy());
      });
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    try {
      const tunnel = await openRelay({
        url: url(),
        localPort: local.port,
        identityFile: identity,
        dataDir: dir,
        transports: [{ kind: 'http-proxy', proxy: proxyUrl }],
      });
      assert.equal(tunnel.transport, 'http-proxy');
      assert.equal(await exchange(tunnel.publicPort, 'via proxy'), 'VIA PROXY');
      await tunnel.dispose();
      assert.deepEqual(requests, [`CONNECT 127.0.0.1:${relayPort} HTTP/1.1`]);
      const closedPort = await freePort();
      await assert.rejects(
        openRelay({
          url: `ssh://alice@127.0.0.1:${closedPort}`,
          localPort: local.port,
          identityFile: identity,
          dataDir: dir,
          transports: [{ kind: 'http-proxy', proxy: proxyUrl }],
        }),
        (error) => isPortholeError(error) && error.code === 'E_RELAY_PROXY' && /403/.test(error.message),
      );
    } finally {
      proxy.close();
    }
  });

  it('reports an unreachable relay with a code', async () => {
    const port = await freePort();
    await assert.rejects(
      openRelay({ url: `ssh://alice@127.0.0.1:${port}`, localPort: 1, identityFile: identity, dataDir: dir }),
      (error) => isPortholeError(error) && error.code === 'E_RELAY_UNREACHABLE',
    );
  });

  it('carries UDP datagrams both ways over the porthole channel', async () => {
    const echo = createSocket('udp4');
    echo.on('message', (message, remote) => echo.send(Buffer.from(`echo:${message}`), remote.port, remote.address));
    await new Promise<void>((resolve) => echo.bind(0, '127.0.0.1', resolve));
    const tunnel = await openRelay({
      url: url(),
      localPort: echo.address().port,
      identityFile: identity,
      dataDir: dir,
      udp: true,
    });
    const visitor = createSocket('udp4');
    try {
      // One public port number for TCP and UDP when the tenant owns it.
      assert.equal(tunnel.publicUdpPort, tunnel.publicPort);
      const answer = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no UDP answer')), 3000);
        visitor.on('message', (message) => {
          clearTimeout(timer);
          resolve(message.toString());
        });
        visitor.send('ping', tunnel.publicUdpPort ?? 0, '127.0.0.1');
      });
      assert.equal(answer, 'echo:ping');
    } finally {
      visitor.close();
      echo.close();
      await tunnel.dispose();
    }
  });

  it('re-makes the tunnel on the same public port after the relay restarts', async () => {
    const tunnel = await openRelay({ url: url(), localPort: local.port, identityFile: identity, dataDir: dir });
    try {
      const reconnected = new Promise((resolve) => tunnel.events.once('connected', resolve));
      await relay.close();
      relay = await createRelayServer({
        listen: [{ host: '127.0.0.1', port: relayPort }],
        tenants: parseTenants(
          [
            'tenants:',
            '  - name: alice',
            `    key: "${keyPair.public}"`,
            `    pool: ${poolStart}-${poolStart + 20}`,
          ].join('\n'),
        ),
        dataDir: join(dir, 'relay'),
        publicHost: '127.0.0.1',
      });
      await reconnected;
      assert.equal(await exchange(tunnel.publicPort, 'again'), 'AGAIN');
      assert.equal(relay.tunnels().length, 1);
    } finally {
      await tunnel.dispose();
    }
  });
});
