/**
 * The relay client's transport order from what the network lets out: blocked ways move last,
 * the default order (direct, the named proxy, WebSocket ports) stands otherwise, ways through a
 * proxy are never judged by the relay's own ports, and a relay on this host is never swept.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { defaultTransports, transportName } from '../../src/relay/transport.js';
import { learnRelayEgress, orderTransports, portOfTransport } from '../../src/relay/transportOrder.js';

const names = (list: Parameters<typeof transportName>[0][]) => list.map(transportName);

describe('relay transport order', () => {
  const all = defaultTransports({ proxy: 'http://proxy.lab:3128', webSocketPorts: [443, 80] });

  it('the port each way needs: the SSH port for direct, its own for WebSocket, none through a proxy', () => {
    assert.deepEqual(
      all.map((t) => portOfTransport(t, 2222)),
      [2222, undefined, 443, 80],
    );
    assert.equal(portOfTransport({ kind: 'websocket', port: 443, proxy: 'http://p:3128' }, 22), undefined);
  });

  it('a venue that drops 22 and 443: direct and WebSocket 443 go last, the proxy and port 80 first', () => {
    const seen = new Map([
      [2222, 'blocked'],
      [443, 'blocked'],
      [80, 'allowed'],
    ] as const);
    assert.deepEqual(names(orderTransports(all, 2222, seen)), [
      'http-proxy',
      'websocket:80',
      'direct',
      'websocket:443',
    ]);
  });

  it('nothing learnt (or everything allowed) keeps the default order', () => {
    assert.deepEqual(names(orderTransports(all, 2222, new Map())), names(all));
    const open = new Map([
      [2222, 'allowed'],
      [443, 'allowed'],
      [80, 'allowed'],
    ] as const);
    assert.deepEqual(names(orderTransports(all, 2222, open)), names(all));
  });

  it('a relay on this host is not swept (nothing to learn, no packet sent)', async () => {
    let connections = 0;
    const server = createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    try {
      const learnt = await learnRelayEgress(all, { host: '127.0.0.1', port }, new AbortController().signal);
      assert.equal(learnt.size, 0);
      assert.equal(connections, 0);
    } finally {
      server.close();
    }
  });
});
