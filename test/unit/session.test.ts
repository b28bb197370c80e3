/**
 * The run session on the loopback fake router: a diagnosis and an expose each discover the router
 * once (the doctor's facts, the NAT diagnosis and expose's roads share the answer), and a
 * diagnosis that must renew a PCP mapping to ask about it says so, and is not plain ok when the
 * router had lost it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PortholeError } from '../../src/errors/index.js';
import { createLinuxHost } from '../../src/host/index.js';
import { diagnose, expose, mapPort, type ProgressEvent } from '../../src/library/index.js';
import { type FakeRouter, startFakeRouter } from '../support/fakeRouter.js';
import { FAKE_ROUTER_HOST as HOST, loopbackOnly } from '../support/fakeRouterClients.js';

/** A check service on loopback that sees 198.51.100.7 and finds every port closed. */
async function startFakeChecker(): Promise<{ server: Server; url: string }> {
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => {
      body += chunk;
    });
    request.on('end', () => {
      response.setHeader('content-type', 'application/json');
      if (request.url === '/v1/ip') {
        response.end(JSON.stringify({ address: '198.51.100.7', family: 4 }));
        return;
      }
      const ports = String((JSON.parse(body || '{}') as { ports?: string }).ports ?? '');
      const results = ports
        .split(',')
        .filter(Boolean)
        .map((spec) => {
          const [port, protocol] = spec.split('/');
          return { port: Number(port), protocol, state: 'closed', reason: 'conn-refused', ms: 1, verified: null };
        });
      response.end(JSON.stringify({ target: '198.51.100.7', proof: false, ms: 2, results }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  return { server, url: `http://${HOST}:${(server.address() as AddressInfo).port}` };
}

describe('run session: one discovery per run', () => {
  let router: FakeRouter;
  let checker: Awaited<ReturnType<typeof startFakeChecker>>;
  let state: string;
  let saved: string | undefined;
  const run = () => ({
    env: { XDG_STATE_HOME: state, XDG_CONFIG_HOME: state },
    discovery: {
      gateway: HOST,
      natpmpPort: router.natpmpPort,
      ssdpPort: router.ssdpPort,
      multicast: false,
      policy: loopbackOnly,
    },
    announcements: false as const,
  });

  before(async () => {
    saved = process.env.PORTHOLE_ONLY_GATEWAYS;
    process.env.PORTHOLE_ONLY_GATEWAYS = `${HOST}/32`;
    router = await startFakeRouter({ externalIp: '198.51.100.7' });
    checker = await startFakeChecker();
    state = mkdtempSync(join(tmpdir(), 'porthole-session-'));
  });
  after(async () => {
    await router.close();
    checker.server.close();
    rmSync(state, { recursive: true, force: true });
    if (saved === undefined) delete process.env.PORTHOLE_ONLY_GATEWAYS;
    else process.env.PORTHOLE_ONLY_GATEWAYS = saved;
  });

  it('diagnose() asks the router once: the facts and the NAT diagnosis share the discovery', async () => {
    const before = router.discoveryRounds();
    const steps: string[] = [];
    const early: string[] = [];
    const report = await diagnose({
      ...run(),
      ports: '7411',
      checker: checker.url,
      onProgress: (event: ProgressEvent) => {
        if (event.kind === 'step' && event.state === 'started') steps.push(event.step);
        // Findings decided by the first phase are said before the check from outside has run.
        if (event.kind === 'finding') early.push(`${event.finding.id}${steps.includes('outside-in') ? ' (late)' : ''}`);
      },
    });
    assert.deepEqual(early.sort(), ['firewall:7411/tcp', 'gateway', 'listener:7411/tcp', 'nat']);
    // The early verdicts are the report's own.
    for (const id of early)
      assert.ok(
        report.findings.some((f) => f.id === id),
        `${id} is in the report`,
      );
    assert.equal(router.discoveryRounds() - before, 1);
    // Both steps that need the router ran (and each says it started), on the one discovery.
    assert.ok(steps.includes('gateway') && steps.includes('nat'), steps.join(','));
    assert.equal(report.findings.find((f) => f.id === 'gateway')?.status, 'ok');
    assert.match(report.findings.find((f) => f.id === 'nat')?.summary ?? '', /198\.51\.100\.7/);
    // Nothing maps 7411: the doctor asked whether the router would let this host map it (PCP with
    // PREFER_FAILURE, deleted at once), and says so; nothing stays on the router.
    assert.equal(report.changes.length, 1, JSON.stringify(report.changes));
    assert.match(
      report.changes[0]?.what ?? '',
      /asked the router to map 7411\/tcp for 30 s by PCP \(with PREFER_FAILURE\) and deleted it at once/,
    );
    assert.ok(!router.mappings().some((m) => m.internalPort === 7411), 'the question left nothing mapped');
  });

  it('expose() asks the router once: its mapping and its check from outside share the discovery', async () => {
    const before = router.discoveryRounds();
    const result = await expose({ ...run(), ports: '7412', checker: checker.url, family: 'ipv4' });
    assert.equal(router.discoveryRounds() - before, 1);
    assert.equal(result.road, 'direct');
    assert.equal(result.mappings[0]?.externalPort, 7412);
    assert.equal(result.reachable, false, 'closed from outside: not reachable');
    assert.ok(
      router.mappings().some((m) => m.internalPort === 7412),
      'left on the router by design (no keep)',
    );
  });

  it('expose with no road it may try says so (E_NO_ROAD), each road with why', async () => {
    const noIpv6 = { ...createLinuxHost(), addresses: () => [] };
    await assert.rejects(expose({ ...run(), host: noIpv6, ports: '7414', family: 'ipv6' }), (error: unknown) => {
      const coded = error as { code?: string; message?: string };
      assert.equal(coded.code, 'E_NO_ROAD');
      assert.match(coded.message ?? '', /ipv6: this host has no global IPv6 address/);
      return true;
    });
  });

  it('a record whose lease ended is not renewed to ask about it (that would open the port again)', async () => {
    await mapPort({ ...run(), port: 7416, via: 'pcp', lifetimeSeconds: 1 });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.ok(!router.mappings().some((m) => m.internalPort === 7416), 'the lease ran out on the router');
    const report = await diagnose({ ...run(), ports: '7416' });
    assert.ok(!router.mappings().some((m) => m.internalPort === 7416), 'the doctor did not make it again');
    // Not renewed; the only write is the doctor's said question whether the router would map it.
    assert.ok(!report.changes.some((c) => /renewed.*7416/.test(c.what)), JSON.stringify(report.changes));
    const finding = report.findings.find((f) => f.id === 'mapping:7416/tcp');
    assert.equal(finding?.status, 'fail');
    assert.ok(
      finding?.evidence.some((line) => /lease ended/.test(line)),
      JSON.stringify(finding?.evidence),
    );
  });

  it('Ctrl-C while expose checks from outside: E_ABORTED, and the mapping it made is removed', async () => {
    const controller = new AbortController();
    const hanging = createServer(() => controller.abort(new PortholeError('E_ABORTED', { detail: 'test' })));
    await new Promise<void>((resolve) => hanging.listen(0, HOST, resolve));
    try {
      await assert.rejects(
        expose({
          ...run(),
          ports: '7417',
          family: 'ipv4',
          checker: `http://${HOST}:${(hanging.address() as AddressInfo).port}`,
          signal: controller.signal,
        }),
        (error: unknown) => (error as { code?: string }).code === 'E_ABORTED',
      );
      assert.ok(!router.mappings().some((m) => m.internalPort === 7417), 'nothing left on the router');
    } finally {
      hanging.closeAllConnections();
      hanging.close();
    }
  });

  it('bad --name settings end expose before anything is made', async () => {
    const controller = new AbortController();
    await assert.rejects(
      expose({
        ...run(),
        ports: '7418',
        keep: true,
        signal: controller.signal,
        followName: {
          name: 'media.example.net',
          settings: { dyndns2: `http://${HOST}:1/nic/update`, user: 'u', passwordFile: join(state, 'missing') },
        },
      }),
      (error: unknown) => (error as { code?: string }).code === 'E_DNS_SECRET_FILE',
    );
    assert.ok(!router.mappings().some((m) => m.internalPort === 7418), 'no mapping made');
  });

  it('a diagnosis that renews a PCP mapping says so; after a router restart the finding is not ok', async () => {
    await mapPort({ ...run(), port: 7413, via: 'pcp', lifetimeSeconds: 600 });
    router.reboot();
    assert.equal(router.mappings().length, 0, 'the restart forgot every mapping');
    const report = await diagnose({ ...run(), ports: '7413' });
    const finding = report.findings.find((f) => f.id === 'mapping:7413/tcp');
    assert.equal(finding?.status, 'warn');
    assert.equal(finding?.cause, 'mapping-lost');
    assert.match(finding?.summary ?? '', /had lost porthole's mapping of 7413\/tcp/);
    assert.match(finding?.fix ?? '', /porthole map 7413\/tcp --keep/);
    // Only the record of the port diagnosed is renewed to ask: 7412 (left by the expose above) is not
    // asked about, so the restart that forgot it does not make it again behind the user's back.
    assert.equal(report.changes.length, 1, JSON.stringify(report.changes));
    assert.equal(report.changes[0]?.on, 'router');
    assert.match(report.changes[0]?.what ?? '', /renewed porthole's PCP mapping of 7413\/tcp/);
    assert.match(report.changes[0]?.found ?? '', /had lost it/);
    assert.ok(!router.mappings().some((m) => m.internalPort === 7412), '7412 was not renewed back');
    assert.ok(
      report.findings.find((f) => f.id === 'mapping:7413/tcp')?.changed,
      'the finding says what its check changed',
    );
    assert.ok(
      router.mappings().some((m) => m.internalPort === 7413),
      'the renewal made it again (said above)',
    );
  });
});
