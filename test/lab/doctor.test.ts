/**
 * The doctor and expose, end to end in the lab: expose makes 7001 reachable and proves it; each
 * of seed 000's causes, carrier NAT and a router that refuses mapping makes `porthole doctor`
 * exit 1 with exactly that cause failing (and the outside-in finding explained by it); expose
 * --keep survives a router restart and lease expiries and removes what it made on Ctrl-C.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { Lab } from '../../lab/lab.js';
import { PLAN } from '../../lab/topology.js';
import { sleep } from '../../src/deadline/index.js';
import {
  connect,
  fixCommands,
  labSkip,
  listen,
  porthole,
  serveChecker,
  startPorthole,
  useLab,
  waitForLogLine,
  waitForPublicPort,
} from './support.js';

const CHECKER = `http://${PLAN.internetHost}:8080`;
const COMMON = ['--checker', CHECKER, '--stun', PLAN.internetHost];

interface Report {
  reachable: boolean;
  publicAddress: string | null;
  findings: { id: string; status: string; cause: string | null; fix: string | null; summary: string; ms: number }[];
}

async function doctor(
  lab: Lab,
  extra: string[] = [],
): Promise<{ code: number | null; report: Report; stderr: string }> {
  const run = await porthole(lab, 'lan', ['doctor', '7001', ...COMMON, ...extra, '--json'], 60_000);
  return { code: run.code, report: JSON.parse(run.stdout) as Report, stderr: run.stderr };
}

/** The failing findings as `id=cause`, sorted. */
function failing(report: Report): string[] {
  return report.findings
    .filter((f) => f.status === 'fail')
    .map((f) => `${f.id}=${f.cause}`)
    .sort();
}

describe('lab: doctor and expose in the home topology', { skip: labSkip() }, () => {
  // The lab's DNS server: one name points at the public address, one at an address from before.
  const env = useLab({
    topology: 'home',
    dnsRecords: { 'media.example.net': PLAN.routerWanPublic, 'stale.example.net': '198.51.100.9' },
  });
  // The server started below runs in the lab's namespace and goes with the lab.
  before(async () => serveChecker(env.lab));

  it('nothing listening: only the listener fails; porthole answers on the port itself and proves the path', async () => {
    const { lab } = env;
    const mapped = await porthole(lab, 'lan', ['map', '7001', '--json']);
    assert.equal(mapped.code, 0, mapped.stderr);
    const { code, report } = await doctor(lab);
    assert.equal(code, 1);
    assert.deepEqual(failing(report), ['listener:7001/tcp=not-listening']);
    const outside = report.findings.find((f) => f.id === 'outside-in:7001/tcp');
    assert.equal(outside?.status, 'ok');
    assert.match(outside?.summary ?? '', /porthole's own listener .* with proof/);
    assert.match(report.findings.find((f) => f.id === 'listener:7001/tcp')?.fix ?? '', /Start the server/);
    assert.equal((await porthole(lab, 'lan', ['unmap', '7001'])).code, 0);
  });

  it('expose 7001 with the server running: reachable, verified from outside, the public address given', async () => {
    const { lab } = env;
    lab.startBackground('lan', 'server-7001', 'socat', ['TCP-LISTEN:7001,fork,reuseaddr', 'SYSTEM:echo media-server']);
    await sleep(300);
    const run = await porthole(lab, 'lan', ['expose', '7001', ...COMMON, '--json'], 60_000);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const result = JSON.parse(run.stdout) as Report & { mappings: { externalPort: number; internalAddress: string }[] };
    assert.equal(result.reachable, true);
    assert.equal(result.publicAddress, lab.addresses.publicIp);
    assert.deepEqual(
      result.mappings.map((m) => [m.externalPort, m.internalAddress]),
      [[7001, lab.addresses.lan]],
    );
    assert.deepEqual(failing(result), []);
    assert.equal(result.findings.find((f) => f.id === 'outside-in:7001/tcp')?.status, 'ok');
    const seen = await connect(lab, 'internet', lab.addresses.publicIp, 7001);
    assert.equal(seen.data, 'media-server', 'the internet reaches the real server');
    const human = await porthole(lab, 'lan', ['doctor', '7001', ...COMMON]);
    assert.equal(human.code, 0);
    assert.match(human.stdout, /✔ outside-in:7001\/tcp/);
    assert.match(human.stdout, /Reachable at 203\.0\.113\.1/);
  });

  it('--name: a name pointing at the public address is ok; a stale or missing one fails with the record to set', async () => {
    const dns = async (name: string) =>
      (await doctor(env.lab, ['--name', name])).report.findings.find((f) => f.id === 'dns');
    const good = await dns('media.example.net');
    assert.equal(good?.status, 'ok', good?.summary);
    const stale = await dns('stale.example.net');
    assert.deepEqual([stale?.status, stale?.cause], ['fail', 'dns-mismatch']);
    assert.match(stale?.fix ?? '', /A record at 203\.0\.113\.1/);
    const missing = await dns('gone.example.net');
    assert.deepEqual([missing?.status, missing?.cause], ['fail', 'dns-unresolved']);
  });

  it('host firewall dropping 7001: the firewall finding fails with the rule and the fix', async () => {
    const { lab } = env;
    const drop =
      'table inet hostfw { chain input { type filter hook input priority 0; policy accept; tcp dport 7001 drop; }; }';
    const applied = await lab.exec('lan', 'nft', ['-f', '-'], { input: drop });
    assert.equal(applied.code, 0, applied.stderr);
    try {
      const { code, report } = await doctor(lab);
      assert.equal(code, 1);
      assert.deepEqual(failing(report), ['firewall:7001/tcp=host-firewall', 'outside-in:7001/tcp=host-firewall']);
      const fix = report.findings.find((f) => f.id === 'firewall:7001/tcp')?.fix ?? '';
      assert.deepEqual(fixCommands(fix), ['firewall 7001 --target nftables --apply']);
      // The fix, pasted: it must open the port although another table's chain drops it.
      const applied = await porthole(lab, 'lan', (fixCommands(fix)[0] ?? '').split(' '));
      assert.equal(applied.code, 0, applied.stdout + applied.stderr);
      try {
        const after = await doctor(lab);
        assert.equal(after.code, 0, JSON.stringify(after.report.findings.filter((f) => f.status !== 'ok')));
        assert.equal(after.report.findings.find((f) => f.id === 'firewall:7001/tcp')?.status, 'ok');
      } finally {
        const removed = await porthole(lab, 'lan', ['firewall', '7001', '--target', 'nftables', '--remove']);
        assert.equal(removed.code, 0, removed.stdout + removed.stderr);
      }
    } finally {
      await lab.exec('lan', 'nft', ['delete', 'table', 'inet', 'hostfw']);
    }
  });

  it('a mapping to the wrong internal port: the mapping finding names both ports and the fix', async () => {
    const { lab } = env;
    assert.equal((await porthole(lab, 'lan', ['unmap', '7001'])).code, 0);
    const wrong = await lab.exec('lan', 'upnpc', [
      '-u',
      lab.addresses.igdDescriptionUrl,
      '-a',
      lab.addresses.lan,
      '7002',
      '7001',
      'tcp',
    ]);
    assert.equal(wrong.code, 0, wrong.stdout + wrong.stderr);
    try {
      const { code, report } = await doctor(lab);
      assert.equal(code, 1);
      assert.deepEqual(
        failing(report),
        ['mapping:7001/tcp=mapping-wrong-port', 'outside-in:7001/tcp=mapping-wrong-port'],
        JSON.stringify(report.findings.filter((f) => f.status !== 'ok')),
      );
      const fix = report.findings.find((f) => f.id === 'mapping:7001/tcp')?.fix ?? '';
      assert.match(fix, /internal IP 192\.168\.77\.10, internal port 7001, protocol TCP/);
      assert.match(fix, /now goes to internal port 7002/);
    } finally {
      await lab.exec('lan', 'upnpc', ['-u', lab.addresses.igdDescriptionUrl, '-d', '7001', 'tcp']);
    }
  });

  it('no mapping at all: the mapping finding says so, and its printed fixes work when pasted', async () => {
    const { lab } = env;
    const { code, report } = await doctor(lab);
    assert.equal(code, 1);
    assert.deepEqual(failing(report), ['mapping:7001/tcp=no-mapping', 'outside-in:7001/tcp=no-mapping']);
    const fixes = fixCommands(report.findings.find((f) => f.id === 'mapping:7001/tcp')?.fix);
    assert.deepEqual(fixes, ['expose 7001/tcp', 'map 7001/tcp']);
    // Either works; without a checker given, expose maps and says it could not prove the road.
    for (const fix of fixes) {
      const ran = await porthole(lab, 'lan', fix.split(' '));
      assert.ok(ran.code === 0 || (fix.startsWith('expose') && ran.code === 1), `${fix}: ${ran.stdout}${ran.stderr}`);
      const after = await doctor(lab);
      assert.equal(after.code, 0, `${fix}: ${JSON.stringify(after.report.findings.filter((f) => f.status !== 'ok'))}`);
      assert.equal((await porthole(lab, 'lan', ['unmap', '7001'])).code, 0);
    }
  });

  it('expose --keep survives lease expiries and a router restart, and Ctrl-C removes its mappings and firewall rules', async () => {
    const { lab } = env;
    const pid = startPorthole(lab, 'lan', 'expose-keep', [
      'expose',
      '7001',
      ...COMMON,
      '--keep',
      '--json',
      '--via',
      'natpmp',
      '--lease',
      '6',
      '--interval',
      '5',
      '--firewall',
      'nftables',
    ]);
    assert.ok(await waitForPublicPort(lab, 7001, true, 15), `exposed:\n${lab.log('expose-keep')}`);
    const ruleset = async () => (await lab.exec('lan', 'nft', ['list', 'tables'])).stdout;
    assert.match(await ruleset(), /porthole/, 'the host firewall table is in place');
    // Two 6 s leases pass: renewals keep it.
    await sleep(13_000);
    assert.ok(await waitForPublicPort(lab, 7001, true, 2), `kept across lease expiries:\n${lab.log('expose-keep')}`);
    await lab.restartRouterDaemon();
    assert.ok(
      await waitForPublicPort(lab, 7001, true, 8),
      `re-made after the router restart:\n${lab.log('expose-keep')}`,
    );
    assert.ok(
      await waitForLogLine(lab, 'expose-keep', /"kind":"(router-restarted|remade)"/, 3),
      lab.log('expose-keep'),
    );
    assert.ok(
      await waitForLogLine(lab, 'expose-keep', /"kind":"verified","reachable":true/, 5),
      lab.log('expose-keep'),
    );
    process.kill(pid, 'SIGINT');
    assert.ok(await waitForPublicPort(lab, 7001, false, 8), `removed on Ctrl-C:\n${lab.log('expose-keep')}`);
    for (let i = 0; i < 20 && /porthole/.test(await ruleset()); i++) await sleep(250);
    assert.doesNotMatch(await ruleset(), /porthole/, 'the host firewall rules are gone');
    const router = await lab.exec('router', 'nft', ['list', 'ruleset']);
    assert.doesNotMatch(router.stdout, /dport 7001/, "no mapping left in the router's ruleset");
  });

  it('a PCP mapping the router lost in a restart: the doctor says so, lists its renewal, and its fix keeps it', async () => {
    const { lab } = env;
    // A server on 7005, so the internet host can tell forwarded (connects) from not.
    await listen(lab, 'lan', 7005, 'kept-server');
    const mapped = await porthole(lab, 'lan', ['map', '7005', '--via', 'pcp', '--json']);
    assert.ok(await waitForPublicPort(lab, 7005, true, 5), 'mapped');
    assert.equal(mapped.code, 0, mapped.stderr);
    await sleep(2000);
    await lab.restartRouterDaemon();
    assert.ok(await waitForPublicPort(lab, 7005, false, 5), 'the restart forgot the mapping');
    const run = await porthole(lab, 'lan', ['doctor', '7005', '--json'], 60_000);
    const report = JSON.parse(run.stdout) as Report & {
      changes: { on: string; what: string; why: string; found?: string }[];
    };
    const finding = report.findings.find((f) => f.id === 'mapping:7005/tcp') as Report['findings'][number] & {
      changed?: string;
    };
    assert.equal(finding?.status, 'warn', JSON.stringify(finding));
    assert.equal(finding?.cause, 'mapping-lost');
    assert.match(finding?.summary ?? '', /router had lost porthole's mapping of 7005\/tcp \(it restarted/);
    assert.ok(finding?.changed, 'the finding says what its check changed');
    assert.equal(report.changes.length, 1, JSON.stringify(report.changes));
    assert.deepEqual(
      [report.changes[0]?.on, /renewed porthole's PCP mapping of 7005\/tcp/.test(report.changes[0]?.what ?? '')],
      ['router', true],
    );
    assert.match(report.changes[0]?.found ?? '', /had lost it/);
    // The doctor's fix, pasted: the mapping is kept, and made again after the next restart.
    const [fix] = fixCommands(finding?.fix);
    assert.equal(fix, 'map 7005/tcp --keep');
    assert.equal((await porthole(lab, 'lan', ['unmap', '7005'])).code, 0);
    const pid = startPorthole(lab, 'lan', 'map-keep-7005', (fix ?? '').split(' '));
    assert.ok(await waitForPublicPort(lab, 7005, true, 10), `kept:\n${lab.log('map-keep-7005')}`);
    await lab.restartRouterDaemon();
    assert.ok(await waitForPublicPort(lab, 7005, true, 10), `made again:\n${lab.log('map-keep-7005')}`);
    process.kill(pid, 'SIGINT');
    assert.ok(await waitForPublicPort(lab, 7005, false, 8), `removed on Ctrl-C:\n${lab.log('map-keep-7005')}`);
  });
});

describe('lab: doctor with a router that refuses mapping', { skip: labSkip() }, () => {
  const env = useLab({ topology: 'home', upnp: false, natpmp: false });
  before(async () => {
    await serveChecker(env.lab);
    await listen(env.lab, 'lan', 7001, 'media-server');
  });

  it('no UPnP, NAT-PMP or PCP and no manual forward: the mapping finding says so and gives the router setting', async () => {
    const { code, report } = await doctor(env.lab);
    assert.equal(code, 1);
    assert.deepEqual(failing(report), [
      'mapping:7001/tcp=router-refuses-mapping',
      'outside-in:7001/tcp=router-refuses-mapping',
    ]);
    assert.equal(report.findings.find((f) => f.id === 'gateway')?.status, 'warn');
    assert.match(
      report.findings.find((f) => f.id === 'mapping:7001/tcp')?.fix ?? '',
      /forward external port 7001\/TCP to internal IP 192\.168\.77\.10, internal port 7001, protocol TCP/,
    );
  });
});

describe('lab: doctor behind carrier-grade NAT', { skip: labSkip() }, () => {
  const env = useLab({ topology: 'cgnat' });
  before(async () => {
    await serveChecker(env.lab);
    await listen(env.lab, 'lan', 7001, 'media-server');
  });

  it('the NAT finding names carrier-grade NAT; the mapping is not blamed', async () => {
    const { code, report } = await doctor(env.lab);
    assert.equal(code, 1);
    assert.deepEqual(failing(report), ['nat=cgnat', 'outside-in:7001/tcp=cgnat']);
    assert.equal(report.findings.find((f) => f.id === 'mapping:7001/tcp')?.status, 'warn');
    assert.match(report.findings.find((f) => f.id === 'nat')?.fix ?? '', /public IPv4 address/);
  });
});
