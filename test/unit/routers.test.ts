/**
 * Routers as they really are, on the loopback fake router (docs/routers.md; the lab's
 * test/lab/routers.test.ts runs the same classes on real miniupnpd): a router that grants other
 * than asked, forgets, refuses by its rules or by its table, is hard to find, or reports an
 * address that is not public. Only these tests relax the gateway address policy and
 * PORTHOLE_ONLY_GATEWAYS to 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Facts, judge, type PortFacts } from '../../src/doctor/index.js';
import {
  discoverGateways,
  type KeeperEvent,
  keepMapping,
  listingOf,
  refusalMeaning,
  renewAfterSeconds,
} from '../../src/gateway/index.js';
import { expose, mapPort } from '../../src/library/index.js';
import { giveFor } from '../../src/library/roads/direct.js';
import { type FakeRouter, type FakeRouterOptions, startFakeRouter } from '../support/fakeRouter.js';
import {
  fakeRouterClient,
  FAKE_ROUTER_HOST as HOST,
  loopbackOnly,
  whilePermitting,
} from '../support/fakeRouterClients.js';
import { rejection } from '../support/rejection.js';

const request = { protocol: 'tcp' as const, lifetimeSeconds: 7200, description: 'routers' };

/** Writes what a porthole process that is gone (a pid no process has) recorded as its own, for cleanup. */
function recordOfDeadProcess(env: { readonly XDG_STATE_HOME: string }, pid: number, thing: object): void {
  const owned = join(env.XDG_STATE_HOME, 'porthole', 'owned');
  mkdirSync(owned, { recursive: true });
  const id = `${pid}-0000`;
  writeFileSync(
    join(owned, `${id}.json`),
    JSON.stringify({ ...thing, id, pid, processStart: null, createdAt: new Date().toISOString() }),
  );
}

/** One fake router and a state folder per describe, with the run options that reach them. */
function useRun(options: FakeRouterOptions = {}) {
  let router: FakeRouter | undefined;
  let state = '';
  let saved: string | undefined;
  before(async () => {
    saved = process.env.PORTHOLE_ONLY_GATEWAYS;
    process.env.PORTHOLE_ONLY_GATEWAYS = `${HOST}/32`;
    router = await startFakeRouter({ externalIp: '198.51.100.7', ...options });
    state = mkdtempSync(join(tmpdir(), 'porthole-routers-'));
  });
  after(async () => {
    await router?.close();
    rmSync(state, { recursive: true, force: true });
    if (saved === undefined) delete process.env.PORTHOLE_ONLY_GATEWAYS;
    else process.env.PORTHOLE_ONLY_GATEWAYS = saved;
  });
  return {
    router: () => {
      assert.ok(router);
      return router;
    },
    run: () => ({
      env: { XDG_STATE_HOME: state, XDG_CONFIG_HOME: state },
      discovery: {
        gateway: HOST,
        natpmpPort: router?.natpmpPort ?? 0,
        ssdpPort: router?.ssdpPort ?? 0,
        multicast: false,
        policy: loopbackOnly,
      },
      announcements: false as const,
    }),
  };
}

describe('routers: granted other than asked', () => {
  const { router, run } = useRun();

  it('a clamped lease is reported as granted, with what was asked, and renewed before the granted lease ends', async () => {
    router().clampLifetime(60);
    try {
      for (const client of [
        fakeRouterClient(router(), 'pcp'),
        fakeRouterClient(router(), 'natpmp'),
        fakeRouterClient(router(), 'upnp'),
      ]) {
        const mapping = await client.map({ ...request, internalPort: 7301 });
        assert.equal(mapping.lifetime, 60, client.method);
        assert.deepEqual(mapping.asked, { lifetime: 7200 }, client.method);
        // Half the granted 60 s (30), never half the asked 7200 s.
        assert.equal(renewAfterSeconds(mapping, 3600), 30, client.method);
        const renewed = await client.renew(mapping);
        assert.equal(renewed.lifetime, 60, `${client.method}: the renewal asks 7200 again and is clamped again`);
        await client.unmap(renewed);
      }
    } finally {
      router().clampLifetime(7200);
    }
  });

  it("another external port: NAT-PMP and PCP step to the next port the router's rules allow; porthole says which and users get that one", async () => {
    await whilePermitting(
      router(),
      (port) => port < 7301 || port > 7310,
      async () => {
        const viaPcp = await mapPort({ ...run(), port: 7302, via: 'pcp' });
        assert.equal(viaPcp.externalPort, 7311);
        assert.match(viaPcp.skipped?.[0]?.why ?? '', /refused.*the router chose 7311/);
        const viaNatpmp = await fakeRouterClient(router(), 'natpmp').map({
          ...request,
          internalPort: 7303,
          external: 7303,
        });
        assert.equal(viaNatpmp.externalPort, 7312);
        assert.match(viaNatpmp.skipped?.[0]?.why ?? '', /not given \(the router chose 7312\)/);
        assert.deepEqual(giveFor('198.51.100.7', [viaPcp]), ['198.51.100.7:7311/tcp']);
        await fakeRouterClient(router(), 'natpmp').unmap(viaNatpmp);
      },
    );
  });

  it('a router that maps another internal client than asked: porthole removes it and says what the router made', async () => {
    router().cue('upnp', { kind: 'other-client', client: '192.168.1.99' });
    try {
      const error = await rejection(fakeRouterClient(router(), 'upnp').map({ ...request, internalPort: 7304 }));
      assert.equal(error.code, 'E_GATEWAY_REFUSED');
      assert.equal(error.data?.reason, 'other-client');
      assert.match(error.message, /point at 192\.168\.1\.99:7304, not at this host/);
      assert.ok(
        !router()
          .mappings()
          .some((m) => m.externalPort === 7304),
        'removed',
      );
    } finally {
      router().cue('upnp', undefined);
    }
  });
});

describe('routers: a router that forgets, and one whose address moves', () => {
  const { router } = useRun();

  it('a mapping dropped while the router runs (no restart) is seen in its UPnP list and re-made, with why', async () => {
    const client = fakeRouterClient(router(), 'pcp');
    const first = await client.map({ ...request, internalPort: 7321 });
    const gateway = (
      await discoverGateways({
        gateway: HOST,
        natpmpPort: router().natpmpPort,
        ssdpPort: router().ssdpPort,
        multicast: false,
        policy: loopbackOnly,
      })
    )[0];
    assert.ok(gateway);
    const listed = listingOf(gateway);
    assert.ok(listed, 'the router speaks UPnP: its list can be asked');
    const stop = new AbortController();
    const wake = new EventTarget();
    const events: KeeperEvent[] = [];
    const kept = keepMapping(client, first, {
      signal: stop.signal,
      wake,
      announcements: false,
      listed,
      onEvent: (event) => events.push(event),
    });
    router().dropMappings();
    wake.dispatchEvent(new Event('wake'));
    for (let i = 0; i < 40 && !events.some((e) => e.kind === 'remade'); i++)
      await new Promise((r) => setTimeout(r, 25));
    const remade = events.find((e) => e.kind === 'remade');
    assert.ok(remade && 'evidence' in remade, JSON.stringify(events));
    assert.match(remade.evidence, /no longer listed the mapping while it ran .*no restart/);
    assert.ok(
      router()
        .mappings()
        .some((m) => m.internalPort === 7321),
      'made again',
    );
    stop.abort();
    await kept;
  });

  it('a new external address is named for what it is (address-changed, not router-restarted), with both addresses', async () => {
    const client = fakeRouterClient(router(), 'pcp');
    const first = await client.map({ ...request, internalPort: 7322 });
    const stop = new AbortController();
    const wake = new EventTarget();
    const events: KeeperEvent[] = [];
    const kept = keepMapping(client, first, {
      signal: stop.signal,
      wake,
      announcements: false,
      onEvent: (event) => events.push(event),
    });
    router().changeExternalIp('198.51.100.77');
    wake.dispatchEvent(new Event('wake'));
    for (let i = 0; i < 40 && events.length === 0; i++) await new Promise((r) => setTimeout(r, 25));
    const changed = events.find((e) => e.kind === 'address-changed');
    assert.ok(changed && changed.kind === 'address-changed', JSON.stringify(events));
    assert.deepEqual([changed.from, changed.to], ['198.51.100.7', '198.51.100.77']);
    assert.ok(!events.some((e) => e.kind === 'router-restarted'));
    stop.abort();
    await kept;
    router().changeExternalIp('198.51.100.7');
  });
});

describe('routers: refusal told apart', () => {
  it('each code has its own cause and fix, and both meanings where routers use one code for two', () => {
    const cases: [Parameters<typeof refusalMeaning>[0], number, string][] = [
      ['upnp', 606, 'policy'],
      ['upnp', 718, 'taken'],
      ['upnp', 729, 'taken'],
      ['upnp', 725, 'lease'],
      ['upnp', 501, 'no-public-address'],
      ['upnp', 728, 'no-resources'],
      ['natpmp', 2, 'policy'],
      ['natpmp', 3, 'no-public-address'],
      ['natpmp', 4, 'no-resources'],
      ['pcp', 2, 'policy'],
      ['pcp', 8, 'no-resources'],
      ['pcp', 11, 'taken'],
      ['pcp', 12, 'address-mismatch'],
    ];
    for (const [method, code, reason] of cases)
      assert.equal(refusalMeaning(method, code).reason, reason, `${method} ${code}`);
    // One code, two meanings: said both.
    assert.match(refusalMeaning('upnp', 606).meaning, /rules .* or UPnP is set to let programs read but not change/);
    assert.match(refusalMeaning('natpmp', 2).meaning, /rules .* or mapping is switched off/);
    assert.match(refusalMeaning('pcp', 8).meaning, /table is full .* or \(miniupnpd\) .* public address/);
    assert.match(refusalMeaning('pcp', 11).meaning, /another host holds it, or its rules do not allow it/);
    const fixes = new Set(cases.map(([method, code]) => refusalMeaning(method, code).fix));
    assert.ok(fixes.size >= 5, 'distinct causes have distinct fixes');
  });
});

describe("routers: a refused port told apart by the router's own list", () => {
  const { router, run } = useRun();

  it('PCP cannot say whether a port is taken or denied; the UPnP list can: the holder is named, or the rules are', async () => {
    router().occupy('tcp', 7351, '192.168.1.99');
    const taken = await rejection(mapPort({ ...run(), port: 7351, externalPort: 7351 }));
    assert.equal(taken.code, 'E_MAPPING_CONFLICT');
    assert.match(taken.message, /7351 by 192\.168\.1\.99/);
    await whilePermitting(
      router(),
      (port) => port !== 7352,
      async () => {
        const denied = await rejection(mapPort({ ...run(), port: 7352, externalPort: 7352 }));
        assert.equal(denied.code, 'E_GATEWAY_REFUSED');
        assert.equal(denied.data?.reason, 'policy');
        assert.match(denied.message, /rules do not allow 127\.0\.0\.1 tcp 7352/);
        assert.equal(router().searches(), 0);
      },
    );
  });
});

describe('routers: a router whose rules refuse this host', () => {
  const { router, run } = useRun();

  it('map is refused in well under 2 s, naming the rules and the address, and never sends the request that starts a search', async () => {
    await whilePermitting(
      router(),
      () => false,
      async () => {
        const started = performance.now();
        const error = await rejection(mapPort({ ...run(), port: 7331 }));
        const ms = performance.now() - started;
        assert.equal(error.code, 'E_GATEWAY_POLICY');
        assert.match(error.message, /this router's rules do not let 127\.0\.0\.1 map ports/);
        assert.ok(ms < 2000, `${Math.round(ms)} ms`);
        assert.equal(router().searches(), 0, 'no NAT-PMP/PCP request for a denied port without PREFER_FAILURE');
        assert.ok(
          !router().requests.some((r) => r.protocol === 'natpmp' && r.what.startsWith('map')),
          'NAT-PMP never asked',
        );
      },
    );
  });

  it("the doctor asks safely and names the rules; its fix is the router's setting, not a command that knocks it out", async () => {
    await whilePermitting(
      router(),
      () => false,
      async () => {
        const { diagnose } = await import('../../src/library/index.js');
        const report = await diagnose({ ...run(), ports: '7332' });
        const mapping = report.findings.find((f) => f.id === 'mapping:7332/tcp');
        assert.equal(mapping?.cause, 'router-refuses-mapping');
        assert.match(mapping?.summary ?? '', /this router's rules do not let 127\.0\.0\.1 map ports/);
        assert.doesNotMatch(mapping?.fix ?? '', /porthole expose/);
        assert.ok(mapping?.changed, 'the question is said');
        assert.equal(router().searches(), 0);
      },
    );
  });
});

describe('routers: asking more than a router can hold', () => {
  const { router, run } = useRun();

  it('a table of 40 separate ports is refused before the router is asked anything', async () => {
    const before = router().requests.length;
    const ports = Array.from({ length: 40 }, (_, i) => 20000 + i * 2).join(',');
    const error = await rejection(expose({ ...run(), ports, family: 'ipv4' }));
    assert.equal(error.code, 'E_MAPPING_TABLE_LIMIT');
    assert.match(error.message, /40 router mappings asked/);
    assert.match(error.hint, /relay/);
    assert.equal(router().requests.length, before, 'nothing asked');
  });

  it("the doctor's findings come per range, not per port", () => {
    const ports: PortFacts[] = Array.from({ length: 1000 }, (_, i) => ({
      entry: 'big',
      protocol: 'tcp' as const,
      port: 10000 + i,
      listeners: { ok: true as const, value: [], ms: 1 },
      firewall: {
        ok: true as const,
        value: {
          firewall: 'nftables',
          verdict: 'accept' as const,
          certain: true,
          reason: 'allowed' as const,
          summary: 'accepts',
          evidence: [],
        },
        ms: 1,
      },
      outside: { ok: 'skipped' as const, why: 'no checker', ms: 0 as const },
      hairpin: { ok: 'skipped' as const, why: 'no', ms: 0 as const },
    }));
    const facts = {
      manifest: 'big',
      ports,
      gateway: { ok: 'skipped', why: 'x', ms: 0 },
      mappings: { ok: 'skipped', why: 'x', ms: 0 },
      nat: { ok: 'skipped', why: 'x', ms: 0 },
      name: { ok: 'skipped', why: 'x', ms: 0 },
      egress: { ok: 'skipped', why: 'x', ms: 0 },
      multicast: { ok: 'skipped', why: 'x', ms: 0 },
      checker: undefined,
    } as unknown as Facts;
    const report = judge(facts, '10000-10999');
    assert.ok(report.findings.length < 10, `${report.findings.length} findings`);
    const listener = report.findings.find((f) => f.id === 'listener:10000-10999/tcp');
    assert.match(listener?.summary ?? '', /1000 ports/);
  });
});

describe('routers: cleanup finishes with any protocol the router still speaks', () => {
  const { router, run } = useRun();

  it('records of a dead process whose PCP the router no longer answers are removed through UPnP, the silence asked once', async () => {
    const { cleanupLeftovers } = await import('../../src/library/index.js');
    const made = [];
    for (const [index, port] of [7361, 7362].entries()) {
      const mapping = await fakeRouterClient(router(), 'pcp').map({ ...request, internalPort: port });
      made.push(mapping);
      recordOfDeadProcess(run().env, 4194290 + index, { kind: 'mapping', mapping });
    }
    router().cue('pcp', { kind: 'silent' });
    try {
      const started = performance.now();
      const report = await cleanupLeftovers(run());
      const ms = performance.now() - started;
      assert.equal(report.removed.length, 2, JSON.stringify(report));
      assert.deepEqual(report.failed, []);
      assert.ok(
        !router()
          .mappings()
          .some((m) => m.internalPort === 7361 || m.internalPort === 7362),
      );
      // One silent PCP exchange (RFC 6886 timing, 3.75 s), not one per record.
      assert.ok(ms < 6000, `${Math.round(ms)} ms`);
    } finally {
      router().cue('pcp', undefined);
    }
  });
});

describe('routers: the doctor asking whether a port is allowed', () => {
  const { router, run } = useRun({ speaks: { natpmp: false, pcp: false, upnp: true } });

  it('a question whose mapping could not be deleted says so, and that the router holds it until its lease ends', async () => {
    const { askPermission } = await import('../../src/gateway/index.js');
    const [gateway] = await discoverGateways(run().discovery);
    assert.ok(gateway, 'the fake router is found');
    const asked = { protocol: 'tcp' as const, port: 7381 };
    const clean = await askPermission(gateway, asked);
    assert.match(clean?.changed ?? '', /deleted it at once/);
    router().cue('upnp', { kind: 'upnp-error', code: 501, action: 'DeletePortMapping' });
    try {
      const stuck = await askPermission(gateway, asked);
      assert.equal(stuck?.allowed, true);
      assert.doesNotMatch(stuck?.changed ?? '', /deleted it at once/);
      assert.match(stuck?.changed ?? '', /could not delete it .*holds it until its lease ends/);
      assert.match(stuck?.evidence ?? '', /deleting it failed/);
    } finally {
      router().cue('upnp', undefined);
    }
  });
});

describe('routers: cleanup on a router with NAT-PMP alone', () => {
  const { router, run } = useRun({ speaks: { natpmp: true, pcp: false, upnp: false } });

  it('a request whose answer was never read is deleted, and the report says NAT-PMP cannot tell it was there', async () => {
    const { cleanupLeftovers } = await import('../../src/library/index.js');
    const made = await fakeRouterClient(router(), 'natpmp').map({ ...request, internalPort: 7371 });
    recordOfDeadProcess(run().env, 4194280, {
      kind: 'mapping-request',
      request: { gateway: HOST, protocol: 'tcp', internalPort: 7371 },
    });
    const report = await cleanupLeftovers(run());
    assert.deepEqual(report.failed, []);
    assert.equal(report.removed.length, 1, JSON.stringify(report));
    assert.match(report.removed[0]?.what ?? '', /:\?\/tcp -> 127\.0\.0\.1:7371 \(natpmp\)/);
    assert.match(report.removed[0]?.what ?? '', /cannot tell whether the router held it; deleted if it did/);
    assert.ok(
      !router()
        .mappings()
        .some((m) => m.externalPort === made.externalPort),
    );
  });
});

describe('routers: hard to find', () => {
  let router: FakeRouter;
  let saved: string | undefined;
  before(async () => {
    saved = process.env.PORTHOLE_ONLY_GATEWAYS;
    process.env.PORTHOLE_ONLY_GATEWAYS = `${HOST}/32`;
    router = await startFakeRouter({ locationHost: 'router.lan' });
  });
  after(async () => {
    await router.close();
    if (saved === undefined) delete process.env.PORTHOLE_ONLY_GATEWAYS;
    else process.env.PORTHOLE_ONLY_GATEWAYS = saved;
  });
  const discover = () =>
    discoverGateways({
      gateway: HOST,
      natpmpPort: router.natpmpPort,
      ssdpPort: router.ssdpPort,
      multicast: false,
      policy: loopbackOnly,
    });

  it('a description URL that names a host is asked at the gateway address (never resolved)', async () => {
    const [gateway] = await discover();
    assert.ok(gateway?.protocols.includes('upnp'), JSON.stringify(gateway?.upnp));
    assert.ok(gateway?.warnings.some((w) => /names the host "router\.lan": asked at 127\.0\.0\.1/.test(w)));
  });

  it('SSDP answered late while NAT-PMP refuses and PCP is absent: the late answer still counts, no fixed wait', async () => {
    router.cue('natpmp', { kind: 'result', result: 2 });
    router.cue('pcp', { kind: 'result', result: 1 });
    router.cue('ssdp', { kind: 'late', ms: 400 });
    try {
      const started = performance.now();
      const [gateway] = await discover();
      const ms = performance.now() - started;
      assert.ok(gateway?.protocols.includes('upnp'), JSON.stringify(gateway?.protocols));
      assert.ok(ms < 1000, `${Math.round(ms)} ms`);
    } finally {
      router.cue('natpmp', undefined);
      router.cue('pcp', undefined);
      router.cue('ssdp', undefined);
    }
  });

  it('NAT-PMP and PCP answered from another address of the router: counted, said, and mapping works', async () => {
    router.cue('natpmp', { kind: 'wrong-source', from: 'address' });
    router.cue('pcp', { kind: 'wrong-source', from: 'address' });
    try {
      const [gateway] = await discover();
      assert.ok(gateway?.protocols.includes('pcp'), JSON.stringify(gateway?.protocols));
      assert.equal(gateway?.answersFrom, '127.0.0.2');
      assert.ok(gateway?.warnings.some((w) => /answered from 127\.0\.0\.2/.test(w)));
      const { clientFor } = await import('../../src/gateway/index.js');
      const client = clientFor(gateway, 'pcp');
      assert.ok(client);
      const mapping = await client.map({ ...request, internalPort: 7341 });
      assert.equal(mapping.externalPort, 7341);
      await client.unmap(mapping);
    } finally {
      router.cue('natpmp', undefined);
      router.cue('pcp', undefined);
    }
  });
});
