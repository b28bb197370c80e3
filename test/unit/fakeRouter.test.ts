/**
 * Router faults, replayed on loopback without root (Tailscale's TestIGD is the model): the
 * mapping compliance suite for all three protocols, the keeper through renewal, a reboot and an
 * external address change, and each misbehaviour of test/support/fakeRouter.ts. Only these
 * tests relax the gateway address policy (to 127.0.0.1) and PORTHOLE_ONLY_GATEWAYS (to 127.0.0.1/32).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sleep } from '../../src/deadline/index.js';
import {
  discoverGateways,
  type KeeperEvent,
  keepMapping,
  type MappingClient,
  type MappingMethod,
} from '../../src/gateway/index.js';
import { UPNP_ERRORS } from '../../src/gateway/upnp.js';
import { type FakeRouter, type FakeRouterOptions, startFakeRouter } from '../support/fakeRouter.js';
import {
  FAST_EXCHANGE,
  fakeRouterClient,
  FAKE_ROUTER_HOST as HOST,
  loopbackOnly,
} from '../support/fakeRouterClients.js';
import { describeMappingCompliance } from '../support/mappingCompliance.js';
import { rejection } from '../support/rejection.js';

/** A router for one describe block, closed after it. */
function useRouter(options: FakeRouterOptions = {}): () => FakeRouter {
  let router: FakeRouter | undefined;
  before(async () => {
    router = await startFakeRouter(options);
  });
  after(() => router?.close());
  return () => {
    assert.ok(router, 'the fake router is running');
    return router;
  };
}

const METHODS: readonly MappingMethod[] = ['natpmp', 'pcp', 'upnp'];

describe('fake router: the mapping compliance suite', () => {
  const router = useRouter();
  const clients = new Map<MappingMethod, MappingClient>();
  for (const method of METHODS) {
    describeMappingCompliance(method, () => {
      let client = clients.get(method);
      if (!client) {
        client = fakeRouterClient(router(), method);
        clients.set(method, client);
      }
      return { client, internalAddress: HOST, externalIp: router().externalIp() };
    });
  }
  it('leaves the router table empty', () => assert.deepEqual(router().mappings(), []));
});

describe('fake router: discovery hears all three protocols', () => {
  const router = useRouter();
  let saved: string | undefined;
  before(() => {
    saved = process.env.PORTHOLE_ONLY_GATEWAYS;
    process.env.PORTHOLE_ONLY_GATEWAYS = `${HOST}/32`;
  });
  after(() => {
    if (saved === undefined) delete process.env.PORTHOLE_ONLY_GATEWAYS;
    else process.env.PORTHOLE_ONLY_GATEWAYS = saved;
  });
  const discover = () =>
    discoverGateways({
      gateway: HOST,
      natpmpPort: router().natpmpPort,
      ssdpPort: router().ssdpPort,
      multicast: false,
      policy: loopbackOnly,
      timeoutMs: 600,
    });

  it('finds upnp, natpmp and pcp, the external address and the WAN service', async () => {
    const [gateway] = await discover();
    assert.deepEqual(gateway?.protocols, ['upnp', 'natpmp', 'pcp']);
    assert.equal(gateway?.externalIp, router().externalIp());
    assert.equal(gateway?.upnp?.description?.services[0]?.controlUrl, router().service.controlUrl);
  });

  it('SSDP answered from another address is ignored: no UPnP, the others still found', async () => {
    router().cue('ssdp', { kind: 'wrong-source', from: 'address' });
    try {
      const [gateway] = await discover();
      assert.deepEqual(gateway?.protocols, ['natpmp', 'pcp']);
    } finally {
      router().cue('ssdp', undefined);
    }
  });

  it('garbage before each NAT-PMP/PCP answer is a warning, and the answers still count', async () => {
    router().cue('natpmp', { kind: 'garbage-first' });
    router().cue('pcp', { kind: 'garbage-first' });
    try {
      const [gateway] = await discover();
      assert.deepEqual(gateway?.protocols, ['upnp', 'natpmp', 'pcp']);
      assert.ok(gateway?.warnings.some((warning) => /ignored a datagram/.test(warning)));
    } finally {
      router().cue('natpmp', undefined);
      router().cue('pcp', undefined);
    }
  });
});

describe('fake router: a NAT-PMP-only and a PCP-only router', () => {
  const natpmpOnly = useRouter({ speaks: { pcp: false, upnp: false } });
  const pcpOnly = useRouter({ speaks: { natpmp: false, upnp: false } });

  it('PCP against a NAT-PMP-only router is refused as "NAT-PMP only", and NAT-PMP maps', async () => {
    const error = await rejection(
      fakeRouterClient(natpmpOnly(), 'pcp').map({
        protocol: 'tcp',
        internalPort: 7001,
        lifetimeSeconds: 60,
        description: 't',
      }),
    );
    assert.equal(error.code, 'E_GATEWAY_REFUSED');
    assert.equal(error.data?.natpmpOnly, true);
    const mapping = await fakeRouterClient(natpmpOnly(), 'natpmp').map({
      protocol: 'tcp',
      internalPort: 7001,
      lifetimeSeconds: 60,
      description: 't',
    });
    assert.equal(mapping.externalPort, 7001);
  });

  it('NAT-PMP against a PCP-only router gets no NAT-PMP answer it can use, and PCP maps', async () => {
    const error = await rejection(fakeRouterClient(pcpOnly(), 'natpmp').externalIp());
    assert.ok(['E_GATEWAY_UNREACHABLE', 'E_GATEWAY_REFUSED'].includes(error.code), error.code);
    const mapping = await fakeRouterClient(pcpOnly(), 'pcp').map({
      protocol: 'udp',
      internalPort: 7002,
      lifetimeSeconds: 60,
      description: 't',
    });
    assert.equal(mapping.externalIp, pcpOnly().externalIp());
  });
});

describe('fake router: answers late, twice, from elsewhere, or not at all', () => {
  const router = useRouter();
  const request = { protocol: 'tcp' as const, internalPort: 7100, lifetimeSeconds: 60, description: 'faults' };

  for (const method of ['natpmp', 'pcp'] as const) {
    it(`${method}: an answer later than the first retransmission is taken, and the mapping is made once`, async () => {
      router().cue(method, { kind: 'late', ms: 120 });
      try {
        const before = router().requests.length;
        // Five sends (50 ms doubling, 1.55 s in all): the 120 ms answer arrives even on a loaded machine.
        const mapping = await fakeRouterClient(router(), method, { attempts: 5 }).map({
          ...request,
          internalPort: 7101,
        });
        assert.equal(mapping.externalPort, 7101);
        const maps = router()
          .requests.slice(before)
          .filter((r) => r.protocol === method && r.what.startsWith('map 7101/tcp'));
        assert.ok(maps.length >= 2, `retransmitted: ${maps.length} requests`);
        assert.equal(
          router()
            .mappings()
            .filter((m) => m.internalPort === 7101).length,
          1,
        );
      } finally {
        router().cue(method, undefined);
      }
    });

    it(`${method}: every answer sent twice: two requests in a row each get their own answer`, async () => {
      router().cue(method, { kind: 'twice' });
      try {
        const client = fakeRouterClient(router(), method);
        const first = await client.map({ ...request, internalPort: 7102 });
        const second = await client.map({ ...request, internalPort: 7103, protocol: 'udp' });
        assert.deepEqual(
          [first.internalPort, first.protocol, second.internalPort, second.protocol],
          [7102, 'tcp', 7103, 'udp'],
        );
      } finally {
        router().cue(method, undefined);
      }
    });

    for (const from of ['address', 'port'] as const) {
      it(`${method}: an answer from the wrong ${from} is ignored: no answer, a coded error in bounded time`, async () => {
        router().cue(method, { kind: 'wrong-source', from });
        try {
          const error = await rejection(fakeRouterClient(router(), method).map({ ...request, internalPort: 7104 }));
          assert.equal(error.code, 'E_GATEWAY_UNREACHABLE');
        } finally {
          router().cue(method, undefined);
        }
      });
    }

    it(`${method}: a silent router is E_GATEWAY_UNREACHABLE after the retransmissions`, async () => {
      router().cue(method, { kind: 'silent' });
      try {
        const before = router().requests.length;
        const error = await rejection(fakeRouterClient(router(), method).map({ ...request, internalPort: 7105 }));
        assert.equal(error.code, 'E_GATEWAY_UNREACHABLE');
        // Each request is counted by the router before it stays silent: every retransmission came.
        assert.ok(router().requests.length - before >= FAST_EXCHANGE.attempts);
      } finally {
        router().cue(method, undefined);
      }
    });

    it(`${method}: undecodable bytes before the answer are a warning, not a failure`, async () => {
      router().cue(method, { kind: 'garbage-first' });
      const warnings: string[] = [];
      try {
        const mapping = await fakeRouterClient(router(), method, { onWarning: (w) => warnings.push(w) }).map({
          ...request,
          internalPort: 7106,
        });
        assert.equal(mapping.internalPort, 7106);
        assert.ok(
          warnings.some((w) => /ignored a datagram/.test(w)),
          warnings.join('; '),
        );
      } finally {
        router().cue(method, undefined);
      }
    });
  }

  it('upnp: an answer later than the HTTP deadline is E_TIMEOUT, not a hang', { timeout: 10_000 }, async () => {
    router().cue('upnp', { kind: 'late', ms: 3500 });
    try {
      const error = await rejection(fakeRouterClient(router(), 'upnp').externalIp());
      assert.equal(error.code, 'E_TIMEOUT');
    } finally {
      router().cue('upnp', undefined);
    }
  });

  it('upnp: a router that drops the connection is E_GATEWAY_UNREACHABLE', async () => {
    router().cue('upnp', { kind: 'silent' });
    try {
      const error = await rejection(fakeRouterClient(router(), 'upnp').externalIp());
      assert.equal(error.code, 'E_GATEWAY_UNREACHABLE');
    } finally {
      router().cue('upnp', undefined);
    }
  });
});

describe('fake router: every refusal code is a coded error, and nothing is left mapped', () => {
  const router = useRouter();
  const request = { protocol: 'tcp' as const, internalPort: 7200, lifetimeSeconds: 60, description: 'codes' };

  it('NAT-PMP results 1-5', async () => {
    for (const result of [1, 2, 3, 4, 5]) {
      router().cue('natpmp', { kind: 'result', result });
      const error = await rejection(fakeRouterClient(router(), 'natpmp').map(request));
      assert.equal(error.code, 'E_GATEWAY_REFUSED', `result ${result}`);
      assert.equal(error.data?.result, result);
    }
    router().cue('natpmp', undefined);
    assert.deepEqual(router().mappings(), []);
  });

  it('PCP results 1-13', async () => {
    for (let result = 1; result <= 13; result++) {
      router().cue('pcp', { kind: 'result', result });
      const error = await rejection(fakeRouterClient(router(), 'pcp').map(request));
      // CANNOT_PROVIDE_EXTERNAL for the port asked and for a dynamic port alike: the host is refused.
      assert.equal(error.code, result === 11 ? 'E_GATEWAY_POLICY' : 'E_GATEWAY_REFUSED', `result ${result}`);
      assert.equal(error.data?.result, result);
    }
    router().cue('pcp', undefined);
    assert.deepEqual(router().mappings(), []);
  });

  it('PCP: another nonce may not touch a mapping (NOT_AUTHORIZED)', async () => {
    const mine = await fakeRouterClient(router(), 'pcp').map({ ...request, internalPort: 7201 });
    const error = await rejection(fakeRouterClient(router(), 'pcp').map({ ...request, internalPort: 7201 }));
    assert.equal(error.data?.result, 2);
    await fakeRouterClient(router(), 'pcp').unmap(mine);
    assert.deepEqual(router().mappings(), []);
  });

  for (const code of Object.keys(UPNP_ERRORS).map(Number)) {
    it(`UPnP ${code} ${UPNP_ERRORS[code]} on AddPortMapping`, async () => {
      router().cue('upnp', { kind: 'upnp-error', code, action: 'AddPortMapping' });
      try {
        const error = await rejection(fakeRouterClient(router(), 'upnp').map({ ...request, external: 7202 }));
        if (code === 718 || code === 729) {
          // A conflict: the port is taken, and the listing of skipped ports says by what.
          assert.equal(error.code, 'E_MAPPING_CONFLICT');
          assert.match(JSON.stringify(error.data?.skipped), new RegExp(String(code)));
        } else {
          assert.equal(error.code, 'E_GATEWAY_REFUSED');
          assert.match(error.message, new RegExp(String(code)));
        }
        assert.deepEqual(router().mappings(), []);
      } finally {
        router().cue('upnp', undefined);
      }
    });
  }

  it('UPnP 725 once: the retry with a permanent lease is granted (lifetime 0)', async () => {
    router().cue('upnp', { kind: 'upnp-error', code: 725, action: 'AddPortMapping', times: 1 });
    const client = fakeRouterClient(router(), 'upnp');
    const mapping = await client.map({ ...request, external: 7203 });
    router().cue('upnp', undefined);
    assert.equal(mapping.lifetime, 0);
    assert.equal(router().mappings()[0]?.lifetime, 0);
    await client.unmap(mapping);
  });

  it('UPnP 714 on DeletePortMapping (already gone) is not an error; 713 ends a listing', async () => {
    const client = fakeRouterClient(router(), 'upnp');
    const mapping = await client.map({ ...request, external: 7204 });
    router().reboot();
    await client.unmap(mapping);
    assert.deepEqual(await client.list(), []);
  });

  it('UPnP faults on GetExternalIPAddress are coded too', async () => {
    for (const code of [401, 501, 606]) {
      router().cue('upnp', { kind: 'upnp-error', code, action: 'GetExternalIPAddress' });
      const error = await rejection(fakeRouterClient(router(), 'upnp').externalIp());
      assert.equal(error.code, 'E_GATEWAY_REFUSED');
    }
    router().cue('upnp', undefined);
  });
});

/** A UDP port free on loopback now (bound, read, released). */
async function freeUdpPort(): Promise<number> {
  const { createSocket } = await import('node:dgram');
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

describe('fake router: a restart announced by the router wakes the keeper at once', { concurrency: true }, () => {
  for (const method of ['natpmp', 'pcp', 'upnp'] as const) {
    it(`${method}: re-made right after the announcement, not at the 30 s check`, { timeout: 20_000 }, async () => {
      const router = await startFakeRouter();
      const controller = new AbortController();
      const port = await freeUdpPort();
      try {
        const client = fakeRouterClient(router, method);
        const first = await client.map({
          protocol: 'tcp',
          internalPort: 7310,
          external: 7310,
          lifetimeSeconds: 3600,
          description: `announce ${method}`,
        });
        const events: KeeperEvent[] = [];
        const kept = keepMapping(client, first, {
          signal: controller.signal,
          announcements: { port },
          onEvent: (event) => events.push(event),
        });
        // The keeper listens before its first sleep; give it that moment.
        await sleep(100);
        router.reboot();
        assert.equal(router.mappings().length, 0);
        const announced = performance.now();
        await router.announce(port);
        for (let i = 0; i < 200 && router.mappings().length === 0; i++) await sleep(10);
        const ms = performance.now() - announced;
        assert.equal(router.mappings()[0]?.externalPort, 7310, `re-made: ${events.map((e) => e.kind)}`);
        assert.ok(ms < 2000, `re-made ${Math.round(ms)} ms after the announcement (the check interval is 30 s)`);
        controller.abort();
        await kept;
        assert.deepEqual(router.mappings(), []);
      } finally {
        controller.abort();
        await router.close();
      }
    });
  }

  it('only the gateway counts, and only what decodes as an announcement', async () => {
    const { decodeAnnouncement, listenForAnnouncements } = await import('../../src/gateway/announcements.js');
    const { encodePcpResponse, encodeNatpmpExternalAddressResponse } = await import('../support/routerWire.js');
    assert.deepEqual(decodeAnnouncement(encodePcpResponse({ opcode: 0, result: 0, lifetime: 0, epoch: 5 })), {
      protocol: 'pcp',
      epoch: 5,
    });
    assert.deepEqual(decodeAnnouncement(encodeNatpmpExternalAddressResponse(0, 9, '198.51.100.23')), {
      protocol: 'natpmp',
      epoch: 9,
      externalIp: '198.51.100.23',
    });
    assert.equal(decodeAnnouncement(encodePcpResponse({ opcode: 1, result: 0, lifetime: 0, epoch: 5 })), undefined);
    assert.equal(decodeAnnouncement(Uint8Array.of(2, 0x80)), undefined);
    const wake = new EventTarget();
    let woken = 0;
    wake.addEventListener('wake', () => woken++);
    const controller = new AbortController();
    const port = await freeUdpPort();
    const { listening } = await listenForAnnouncements(wake, { gateway: '127.0.0.2', port, signal: controller.signal });
    assert.equal(listening, true);
    const { createSocket } = await import('node:dgram');
    const send = (from: string) =>
      new Promise<void>((resolve) => {
        const socket = createSocket('udp4');
        socket.bind(0, from, () =>
          socket.send(encodePcpResponse({ opcode: 0, result: 0, lifetime: 0, epoch: 1 }), port, '127.0.0.1', () => {
            socket.close();
            resolve();
          }),
        );
      });
    await send('127.0.0.1');
    await sleep(100);
    assert.equal(woken, 0, 'another address is not the gateway');
    await send('127.0.0.2');
    for (let i = 0; i < 50 && woken === 0; i++) await sleep(10);
    assert.equal(woken, 1);
    controller.abort();
  });
});

describe('fake router: the keeper renews, re-maps after a reboot, follows a new external address', {
  concurrency: true,
}, () => {
  for (const method of METHODS) {
    it(`${method}`, { timeout: 20_000 }, async () => {
      const router = await startFakeRouter();
      const controller = new AbortController();
      try {
        const client = fakeRouterClient(router, method);
        const first = await client.map({
          protocol: 'tcp',
          internalPort: 7300,
          external: 7300,
          lifetimeSeconds: 2,
          description: `keeper ${method}`,
        });
        assert.equal(first.lifetime, 2);
        const events: KeeperEvent[] = [];
        let wake: (() => void) | undefined;
        const next = (kinds: KeeperEvent['kind'][]) =>
          new Promise<KeeperEvent>((resolve, reject) => {
            const timer = setTimeout(
              () => reject(new Error(`no ${kinds.join('/')} after ${events.map((e) => e.kind)}`)),
              6000,
            );
            wake = () => {
              const last = events.at(-1);
              if (last && kinds.includes(last.kind)) {
                clearTimeout(timer);
                resolve(last);
              }
            };
          });
        const kept = keepMapping(client, first, {
          signal: controller.signal,
          announcements: false,
          checkIntervalSeconds: 1,
          onEvent: (event) => {
            events.push(event);
            wake?.();
          },
        });

        // Renewal at half the lifetime keeps the mapping on the router.
        await next(['renewed']);
        assert.equal(router.mappings().length, 1);

        // Reboot: the table is empty, the keeper sees it (epoch or a missing entry) and maps again.
        router.reboot();
        assert.equal(router.mappings().length, 0);
        const back = await next(['router-restarted', 'remade']);
        assert.equal(back.kind, method === 'upnp' ? 'remade' : 'router-restarted');
        assert.equal(router.mappings()[0]?.externalPort, 7300);

        // The ISP hands out a new address: the kept mapping must say so after the next renewal.
        router.changeExternalIp('198.51.100.23');
        const renewed = await next(['renewed']);
        assert.ok(renewed.kind === 'renewed');
        assert.equal(renewed.mapping.externalIp, '198.51.100.23', 'the mapping follows the new external address');

        controller.abort();
        const last = await kept;
        assert.equal(last.externalPort, 7300);
        assert.ok(events.some((event) => event.kind === 'removed'));
        assert.deepEqual(router.mappings(), [], 'Ctrl-C removes the mapping');
      } finally {
        controller.abort();
        await router.close();
      }
    });
  }
});
