/**
 * Routers as they really are, on real miniupnpd configured to misbehave as real routers do
 * (docs/routers.md): it grants other than asked (permission rules that step to another port, PCP
 * lease limits), forgets (a clean-up of its table while it runs, a WAN reconnect, a new public
 * address), lists forwards that pass nothing (a second firewall), reports an address that is not
 * public (a STUN server beside it on a private WAN), refuses this host, is asked more than it can
 * hold, is hard to find (answers from another address, a second router answering SSDP) — and a
 * double NAT whose router in front runs its own miniupnpd, mapped on both. One lab per describe.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type LabDnsServer, startBind } from '../../lab/dns.js';
import type { RunResult } from '../../lab/exec.js';
import type { Lab } from '../../lab/lab.js';
import { PORTHOLE_SOURCE } from '../../lab/porthole.js';
import { changeWanAddress } from '../../lab/soak.js';
import type { HostName } from '../../lab/topology.js';
import { PLAN } from '../../lab/topology.js';
import { sleep } from '../../src/deadline/index.js';
import {
  connect,
  fixCommands,
  labSkip,
  listen,
  serveChecker,
  startServe,
  useLab,
  waitForPublicPort,
} from './support.js';

const CHECKER = `http://${PLAN.internetHost}:8080`;
const COMMON = ['--checker', CHECKER, '--stun', PLAN.internetHost];
/** The lab's LAN, and behind a double NAT the router in front's LAN too (the lab's own namespaces only). */
const GATEWAYS = `${PLAN.lanSubnet},${PLAN.outerSubnet},${PLAN.lanSubnet6}`;

interface Finding {
  id: string;
  status: string;
  cause: string | null;
  fix: string | null;
  summary: string;
  evidence: string[];
  changed?: string;
}
interface Report {
  reachable: boolean;
  publicAddress: string | null;
  findings: Finding[];
  changes: { what: string; found?: string }[];
}

/** porthole in a lab host with the lab's state, and the gateways it may ask. */
function ph(lab: Lab, host: HostName, args: readonly string[], timeoutMs = 60_000): Promise<RunResult> {
  return lab.exec(host, process.execPath, ['--import', 'tsx', PORTHOLE_SOURCE, ...args], {
    timeoutMs,
    env: {
      XDG_STATE_HOME: `${lab.state.dir}/state-${host}`,
      XDG_CONFIG_HOME: `${lab.state.dir}/config-${host}`,
      PORTHOLE_ONLY_GATEWAYS: GATEWAYS,
    },
  });
}

/** A long-running porthole (`--keep`) in the background, its output in the lab's log `name`. */
function phKeep(lab: Lab, host: HostName, name: string, args: readonly string[]): number {
  return lab.startBackground(host, name, 'env', [
    `XDG_STATE_HOME=${lab.state.dir}/state-${host}`,
    `XDG_CONFIG_HOME=${lab.state.dir}/config-${host}`,
    `PORTHOLE_ONLY_GATEWAYS=${GATEWAYS}`,
    process.execPath,
    '--import',
    'tsx',
    PORTHOLE_SOURCE,
    ...args,
  ]);
}

/** Waits (bounded: `seconds`, polled every 100 ms) until the log `name` matches. */
async function logSays(lab: Lab, name: string, pattern: RegExp, seconds: number): Promise<boolean> {
  for (let i = 0; i < seconds * 10; i++) {
    if (pattern.test(lab.log(name))) return true;
    await sleep(100);
  }
  return false;
}

/** The doctor's JSON report. */
async function doctor(lab: Lab, host: HostName, ports: string, extra: readonly string[] = []) {
  const run = await ph(lab, host, ['doctor', ports, ...COMMON, ...extra, '--json']);
  return { code: run.code, report: JSON.parse(run.stdout) as Report, run };
}

const find = (report: Report, id: string) => report.findings.find((f) => f.id === id);

/** A router's miniupnpd chains, as nftables lists them. */
async function rules(lab: Lab, host: 'router' | 'outer' = 'router'): Promise<string> {
  return (await lab.exec(host, 'nft', ['list', 'chain', 'inet', 'porthole_lab', 'prerouting_miniupnpd'])).stdout;
}

/** Time of a command, ms. */
async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await work();
  return { value, ms: Math.round(performance.now() - started) };
}

describe('lab: a home router that grants otherwise, forgets, and lists what it does not pass', {
  skip: labSkip(),
}, () => {
  // 192.168.77.10 may not have external 7001-7010 (NAT-PMP and PCP step to 7011); PCP leases are
  // clamped to 10-20 s (miniupnpd's min_lifetime/max_lifetime).
  const env = useLab({
    topology: 'home',
    permissions: [`deny 7001-7010 ${PLAN.lanHost}/32 1024-65535`, `allow 1024-65535 ${PLAN.lanSubnet} 1024-65535`],
    pcpLifetime: { min: 10, max: 20 },
  });
  before(async () => {
    await serveChecker(env.lab);
    await listen(env.lab, 'lan', 7001, 'stepped');
  });

  it('kept through what routers do: another port and a shorter lease granted, a clean-up of its table, a WAN reconnect', async () => {
    const { lab } = env;
    const pid = phKeep(lab, 'lan', 'keep-7001', ['map', '7001', '--keep']);
    try {
      // Another port: users are told the one that works, and it does.
      assert.ok(await logSays(lab, 'keep-7001', /users must use 7011/, 15), lab.log('keep-7001'));
      assert.match(lab.log('keep-7001'), /granted a lease of 20 s, not the 3600 s asked/);
      assert.match(lab.log('keep-7001'), /give your users: 203\.0\.113\.1:7011\/tcp/);
      assert.equal((await connect(lab, 'internet', lab.addresses.publicIp, 7011)).data, 'stepped');
      // Renewed before the granted 20 s end (at half of it), never at half of the 3600 s asked.
      assert.ok(await logSays(lab, 'keep-7001', /renewed: 203\.0\.113\.1:7011/, 14), lab.log('keep-7001'));
      await sleep(11_000);
      assert.equal((await connect(lab, 'internet', lab.addresses.publicIp, 7011)).data, 'stepped', 'alive past 20 s');
      // The router's clean-up drops every mapping while it runs on (no restart, same epoch).
      await lab.dropRouterMappings();
      assert.ok(await waitForPublicPort(lab, 7011, false, 2), 'dropped');
      assert.ok(
        await logSays(lab, 'keep-7001', /remade: .*no longer listed the mapping while it ran/, 12),
        lab.log('keep-7001'),
      );
      assert.ok(await waitForPublicPort(lab, 7011, true, 3), `re-made:\n${lab.log('keep-7001')}`);
      // A WAN reconnect: every request fails until the router settles, then the mapping is back.
      await lab.wanReconnect(3000);
      assert.ok(await waitForPublicPort(lab, 7011, true, 20), `back after the reconnect:\n${lab.log('keep-7001')}`);
    } finally {
      process.kill(pid, 'SIGINT');
    }
    assert.ok(await logSays(lab, 'keep-7001', /removed/, 10), lab.log('keep-7001'));
    assert.doesNotMatch(await rules(lab), /dport 7011/);
  });

  it('the doctor says a mapping the router dropped while running was lost, and why; its fix keeps it', async () => {
    const { lab } = env;
    await listen(lab, 'lan', 7023, 'kept');
    assert.equal((await ph(lab, 'lan', ['map', '7023', '--via', 'pcp'])).code, 0);
    await lab.dropRouterMappings();
    const { report } = await doctor(lab, 'lan', '7023');
    const mapping = find(report, 'mapping:7023/tcp');
    assert.equal(mapping?.cause, 'mapping-lost', JSON.stringify(mapping));
    assert.match(mapping?.summary ?? '', /UPnP list, which holds its PCP mappings too, no longer had it/);
    assert.match(mapping?.summary ?? '', /shows no restart/);
    assert.ok(report.changes.some((c) => /had lost it/.test(c.found ?? '')));
    const [fix] = fixCommands(mapping?.fix);
    assert.equal(fix, 'map 7023/tcp --keep');
    const pid = phKeep(lab, 'lan', 'fix-7023', (fix ?? '').split(' '));
    try {
      assert.ok(await logSays(lab, 'fix-7023', /keeping it/, 15), lab.log('fix-7023'));
      await lab.dropRouterMappings();
      assert.ok(await waitForPublicPort(lab, 7023, true, 14), `kept:\n${lab.log('fix-7023')}`);
    } finally {
      process.kill(pid, 'SIGINT');
    }
    assert.ok(await logSays(lab, 'fix-7023', /removed/, 10));
  });

  it('a forward the router lists but a second firewall drops: named, with evidence; the fix on the router page, pasted, works', async () => {
    const { lab } = env;
    await listen(lab, 'lan', 7040, 'behind-spi');
    await lab.setRouterFirewall(true);
    try {
      assert.equal((await ph(lab, 'lan', ['map', '7040'])).code, 0);
      const { report, code } = await doctor(lab, 'lan', '7040');
      assert.equal(code, 1);
      const mapping = find(report, 'mapping:7040/tcp');
      assert.equal(mapping?.status, 'fail', JSON.stringify(report.findings));
      assert.equal(mapping?.cause, 'forward-not-applied');
      assert.match(
        mapping?.summary ?? '',
        /the router lists the forward but traffic does not arrive: a router firewall or a broken UPnP implementation/,
      );
      assert.ok(mapping?.evidence.some((line) => /probed 203\.0\.113\.1:7040\/tcp: filtered/.test(line)));
      assert.equal(find(report, 'outside-in:7040/tcp')?.cause, 'forward-not-applied');
      // The fix, as a person does it: the router's firewall off; then its commands, pasted.
      await lab.setRouterFirewall(false);
      const [check, other] = fixCommands(mapping?.fix);
      assert.match(check ?? '', /^doctor 7040\/tcp --checker /);
      const again = await ph(lab, 'lan', [...(check ?? '').split(' '), '--json']);
      assert.equal((JSON.parse(again.stdout) as Report).reachable, true, again.stdout);
      assert.equal(other, 'map 7040/tcp --external 17040');
      assert.equal((await ph(lab, 'lan', (other ?? '').split(' '))).code, 0);
    } finally {
      await lab.setRouterFirewall(false);
      await ph(lab, 'lan', ['unmap', '7040']);
    }
  });

  it('refusals told apart, each within 2 s: ports its rules deny, a port another host holds, UPnP 606 and 718', async () => {
    const { lab } = env;
    const denied = await timed(() => ph(lab, 'lan', ['map', '7001', '--external', '7001-7005', '--json']));
    assert.equal(denied.value.code, 3, denied.value.stdout);
    const deniedError = (
      JSON.parse(denied.value.stdout) as { error: { code: string; message: string; reason: string } }
    ).error;
    assert.equal(deniedError.reason, 'policy', denied.value.stdout);
    assert.match(deniedError.message, /rules do not allow 192\.168\.77\.10 tcp 7001, 7002, 7003, 7004, 7005/);
    assert.ok(denied.ms < 2000 + 1500, `${denied.ms} ms (the CLI starts in about 1 s)`);
    // Another host holds 7050. miniupnpd's PCP ignores PREFER_FAILURE for a port in use (its
    // port-in-use check steps on before the option is looked at): it grants 7051, which porthole
    // reports, and UPnP names the conflict.
    await lab.exec('lan2', 'natpmpc', ['-g', lab.addresses.routerLan, '-a', '7050', '7050', 'tcp', '600']);
    const taken = await timed(() => ph(lab, 'lan', ['map', '7050', '--external', '7050']));
    assert.equal(taken.value.code, 0, taken.value.stderr);
    assert.match(taken.value.stdout, /the router gave external port 7051, not 7050: users must use 7051/);
    assert.ok(taken.ms < 2000 + 1500, `${taken.ms} ms`);
    assert.equal((await ph(lab, 'lan', ['unmap', '7050'])).code, 0);
    const conflict = JSON.parse(
      (await ph(lab, 'lan', ['map', '7050', '--external', '7050', '--via', 'upnp', '--json'])).stdout,
    ) as {
      error: { code: string; message: string; reason: string };
    };
    assert.deepEqual([conflict.error.code, conflict.error.reason], ['E_MAPPING_CONFLICT', 'taken']);
    assert.match(conflict.error.message, /718/);
    const low = JSON.parse((await ph(lab, 'lan', ['map', '80', '--via', 'upnp', '--json'])).stdout) as {
      error: { code: string; message: string; hint: string };
    };
    assert.equal(low.error.code, 'E_GATEWAY_REFUSED');
    assert.match(low.error.message, /606/);
  });

  it('a table of 10,000 ports: refused before the router is asked; the doctor groups its findings per range', async () => {
    const { lab } = env;
    const separate = join(lab.state.dir, 'ten-thousand.yaml');
    const ports = Array.from({ length: 10_000 }, (_, i) => 30000 + i * 2);
    writeFileSync(
      separate,
      `name: ten-thousand\nports:\n  - name: many\n    direction: inbound\n    protocol: tcp\n    expose: true\n    port: [${ports.join(', ')}]\n`,
    );
    const before = await rules(lab);
    const refused = await timed(() => ph(lab, 'lan', ['expose', separate, '--checker', CHECKER, '--json']));
    assert.equal(refused.value.code, 2, refused.value.stdout);
    assert.equal((JSON.parse(refused.value.stdout) as { error: { code: string } }).error.code, 'E_MAPPING_TABLE_LIMIT');
    assert.ok(refused.ms < 5000, `${refused.ms} ms`);
    assert.equal(await rules(lab), before, 'nothing was asked of the router');
    const range = join(lab.state.dir, 'range.yaml');
    writeFileSync(
      range,
      'name: range\nports:\n  - name: range\n    direction: inbound\n    protocol: tcp\n    expose: true\n    port: 40000-49999\n',
    );
    const grouped = await timed(() => doctor(lab, 'lan', range));
    assert.ok(grouped.value.report.findings.length < 20, `${grouped.value.report.findings.length} findings`);
    const ids = grouped.value.report.findings.map((f) => f.id);
    assert.ok(ids.includes('mapping:40000-40063/tcp'), JSON.stringify(ids));
    assert.ok(ids.includes('range:40000-49999/tcp'), 'says that only the first 64 ports were checked');
    assert.ok(grouped.ms < 20_000, `${grouped.ms} ms`);
  });

  it('hard to find: NAT-PMP/PCP answered from another router address, and a second device answering SSDP on the LAN', async () => {
    const { lab } = env;
    // lan2 answers every M-SEARCH as an IGD would (a mesh node, a second router on the LAN).
    const responder = `const s=require('dgram').createSocket({type:'udp4',reuseAddr:true});s.on('message',(m,r)=>{if(!String(m).startsWith('M-SEARCH'))return;s.send('HTTP/1.1 200 OK\\r\\nCACHE-CONTROL: max-age=120\\r\\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\\r\\nUSN: uuid:other::urn:schemas-upnp-org:device:InternetGatewayDevice:1\\r\\nLOCATION: http://${PLAN.lan2Host}:5000/rootDesc.xml\\r\\nSERVER: other/1 UPnP/1.1\\r\\n\\r\\n',r.port,r.address)});s.bind(1900,()=>{s.addMembership('239.255.255.250');console.log('ssdp responder up')});`;
    await lab.startBackgroundUntil('lan2', 'other-igd', process.execPath, ['-e', responder], 'ssdp responder up');
    await lab.answerNatpmpFrom('192.168.77.254');
    try {
      const found = await timed(() => ph(lab, 'lan', ['gateway', '--json']));
      const [gateway, ...others] = (
        JSON.parse(found.value.stdout) as {
          gateways: { address: string; protocols: string[]; upnp?: { location: string }; warnings: string[] }[];
        }
      ).gateways;
      assert.equal(others.length, 0);
      assert.equal(gateway?.address, lab.addresses.routerLan, 'the default route’s router');
      assert.deepEqual(gateway?.protocols, ['upnp', 'natpmp', 'pcp']);
      assert.equal(gateway?.upnp?.location, lab.addresses.igdDescriptionUrl);
      assert.ok(
        gateway?.warnings.some((w) => /answered from 192\.168\.77\.254/.test(w)),
        JSON.stringify(gateway),
      );
      const mapped = await ph(lab, 'lan', ['map', '7061', '--via', 'pcp', '--json']);
      assert.equal(mapped.code, 0, mapped.stdout + mapped.stderr);
      assert.equal((await ph(lab, 'lan', ['unmap', '7061'])).code, 0);
    } finally {
      await lab.answerNatpmpFrom(undefined);
    }
  });
});

describe('lab: the public address moves while expose --keep runs', { skip: labSkip() }, () => {
  const env = useLab({ topology: 'home' });
  let bind: LabDnsServer;
  before(async () => {
    await serveChecker(env.lab);
    await listen(env.lab, 'lan', 7030, 'moved');
    bind = await startBind(env.lab);
  });

  it('named for what it is, proven again at once, the new address given to users, the DNS name updated', async () => {
    const { lab } = env;
    const name = `moved.${(await import('../../lab/dns.js')).DNS_ZONE}`;
    const pid = phKeep(lab, 'lan', 'expose-moved', [
      'expose',
      '7030',
      ...COMMON,
      '--family',
      'ipv4',
      '--keep',
      '--name',
      name,
      '--rfc2136',
      bind.address,
      '--tsig-key',
      bind.keyFile,
      '--dns-server',
      bind.address,
    ]);
    const moved = '203.0.113.4';
    try {
      assert.ok(
        await logSays(lab, 'expose-moved', /Reachable\. Give your users: 203\.0\.113\.1:7030\/tcp/, 30),
        lab.log('expose-moved'),
      );
      await changeWanAddress(lab, lab.addresses.publicIp, moved);
      const heard = await timed(() =>
        logSays(lab, 'expose-moved', /Reachable\. Give your users: 203\.0\.113\.4:7030\/tcp/, 20),
      );
      assert.ok(heard.value, lab.log('expose-moved'));
      assert.match(
        lab.log('expose-moved'),
        /address-changed: 203\.0\.113\.1 → 203\.0\.113\.4 \(the router's external address/,
      );
      assert.doesNotMatch(lab.log('expose-moved'), /router-restarted/);
      let named = '';
      for (let i = 0; i < 60 && named !== moved; i++) {
        named = (
          await lab.exec('internet', 'dig', [`@${bind.address}`, '-p', String(bind.port), '+short', name, 'A'])
        ).stdout.trim();
        if (named !== moved) await sleep(250);
      }
      assert.equal(named, moved, lab.log('expose-moved'));
    } finally {
      process.kill(pid, 'SIGINT');
      await logSays(lab, 'expose-moved', /Stopped/, 10);
      await changeWanAddress(lab, moved, lab.addresses.publicIp);
    }
  });
});

describe('lab: a router whose rules refuse this host', { skip: labSkip() }, () => {
  const env = useLab({
    topology: 'home',
    permissions: [`deny 0-65535 ${PLAN.lanHost}/32 0-65535`, `allow 1024-65535 ${PLAN.lanSubnet} 1024-65535`],
  });
  before(async () => {
    await serveChecker(env.lab);
  });

  /** natpmpc from lan2, bounded: whether the router answers another client within a second. */
  const answersOthers = async (lab: Lab) =>
    (await lab.exec('lan2', 'timeout', ['1', 'natpmpc', '-g', lab.addresses.routerLan])).code === 0;

  it('map and expose are refused in under 2 s, naming the rules; the router answers others within 1 s after', async () => {
    const { lab } = env;
    const mapped = await ph(lab, 'lan', ['map', '7001', '--json', '--verbose']);
    assert.equal(mapped.code, 3, mapped.stdout);
    const error = (JSON.parse(mapped.stdout) as { error: { code: string; message: string } }).error;
    assert.equal(error.code, 'E_GATEWAY_POLICY');
    assert.match(error.message, /this router's rules do not let 192\.168\.77\.10 map ports/);
    assert.ok(await answersOthers(lab), 'the router answers lan2 at once');
    // The time of the refusal itself, in-process (the CLI's own start is not the router's doing).
    const code = `import { mapPort } from ${JSON.stringify(new URL('../../src/library/index.ts', import.meta.url).pathname)};
const t = performance.now(); try { await mapPort({ port: 7002 }); } catch (e) { console.log(JSON.stringify({ code: e.code, ms: performance.now() - t })); }`;
    const inProcess = await lab.exec('lan', process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      env: { XDG_STATE_HOME: `${lab.state.dir}/state-inproc`, PORTHOLE_ONLY_GATEWAYS: GATEWAYS },
      timeoutMs: 30_000,
    });
    const refusal = JSON.parse(inProcess.stdout) as { code: string; ms: number };
    assert.equal(refusal.code, 'E_GATEWAY_POLICY');
    assert.ok(refusal.ms < 2000, `refused in ${Math.round(refusal.ms)} ms`);
    writeFileSync(join(lab.state.dir, 'refusal-ms.txt'), String(Math.round(refusal.ms)));
    const exposed = await timed(() => ph(lab, 'lan', ['expose', '7001', '--family', 'ipv4', ...COMMON, '--json']));
    assert.equal(exposed.value.code, 3, exposed.value.stdout);
    assert.equal((JSON.parse(exposed.value.stdout) as { error: { code: string } }).error.code, 'E_GATEWAY_POLICY');
    assert.ok(await answersOthers(lab), 'the router answers lan2 at once');
    assert.doesNotMatch(lab.log('miniupnpd'), /No allowed eport for NAT-PMP/, 'no NAT-PMP search started');
  });

  it('the doctor names the rules with a fix that never harms the router; done on the router, map works', async () => {
    const { lab } = env;
    const { report } = await doctor(lab, 'lan', '7001');
    const mapping = find(report, 'mapping:7001/tcp');
    assert.equal(mapping?.cause, 'router-refuses-mapping', JSON.stringify(report.findings));
    assert.match(mapping?.summary ?? '', /this router's rules do not let 192\.168\.77\.10 map ports/);
    assert.deepEqual(fixCommands(mapping?.fix), [], 'no command: the fix is on the router');
    assert.match(mapping?.fix ?? '', /allow 192\.168\.77\.10 to map ports/);
    assert.ok(await answersOthers(lab));
    // What the fix says, on the router: allow this host.
    await lab.reconfigureRouter({ permissions: [`allow 1024-65535 ${PLAN.lanSubnet} 1024-65535`] });
    const mapped = await ph(lab, 'lan', ['map', '7001', '--json']);
    assert.equal(mapped.code, 0, mapped.stdout);
    assert.equal((await ph(lab, 'lan', ['unmap', '7001'])).code, 0);
  });
});

describe('lab: a router that reports a carrier-grade NAT address as its own', { skip: labSkip() }, () => {
  // miniupnpd takes 100.64.0.2 for public (its STUN server sits beside it on the carrier's side).
  const env = useLab({ topology: 'cgnat', privateWan: true });
  before(async () => {
    // One checker on both families: the next road after IPv4 is an IPv6 pinhole.
    await startServe(env.lab, 'checker', [
      '--listen',
      '[::]:8080',
      '--allow-targets',
      '203.0.113.0/24,2001:db8::/32',
      '--data',
      `${env.lab.state.dir}/checker-data`,
      '--log-level',
      'silent',
    ]);
  });

  it('map works on the router but 100.64.0.2 is never given to users; expose names carrier-grade NAT and takes the next road', async () => {
    const { lab } = env;
    const mapped = await ph(lab, 'lan', ['map', '7001']);
    assert.equal(mapped.code, 0, mapped.stderr);
    assert.match(mapped.stdout, /100\.64\.0\.2:7001\/tcp/);
    assert.match(mapped.stdout, /not a public address \(carrier-grade NAT\).*do not give it to users/);
    assert.doesNotMatch(mapped.stdout, /give your users/);
    assert.equal((await ph(lab, 'lan', ['unmap', '7001'])).code, 0);
    const run = await ph(lab, 'lan', [
      'expose',
      '7001',
      ...COMMON,
      '--checker6',
      `http://[${lab.addresses.internet6}]:8080`,
      '--json',
    ]);
    const result = JSON.parse(run.stdout) as Report & {
      road: string;
      give: string[];
      tried: { road: string; because: string }[];
    };
    assert.equal(result.road, 'ipv6', run.stdout);
    assert.match(result.tried[0]?.because ?? '', /cgnat/);
    assert.ok(!JSON.stringify(result.give).includes('100.64.'), JSON.stringify(result.give));
    const { report } = await doctor(lab, 'lan', '7001');
    const gateway = find(report, 'gateway');
    assert.equal(gateway?.cause, 'cgnat', JSON.stringify(report.findings));
    assert.match(gateway?.summary ?? '', /100\.64\.0\.2 .*carrier-grade NAT/);
    assert.ok(!JSON.stringify(report).includes('Give your users'));
    await ph(lab, 'lan', ['unmap', '7001', '--family', 'ipv6']);
  });
});

describe('lab: double NAT, mapped on both routers', { skip: labSkip() }, () => {
  // The home router reports its private WAN (192.168.1.2); the router in front runs miniupnpd too.
  const env = useLab({ topology: 'doublenat', privateWan: true, outerMapping: true });
  before(async () => {
    await serveChecker(env.lab);
    await listen(env.lab, 'lan', 7001, 'through-two');
    await listen(env.lab, 'lan', 7003, 'fixed-two');
  });

  it('expose takes the double-NAT road by itself: reachable and proven through two routers, Ctrl-C removes both mappings', async () => {
    const { lab } = env;
    const pid = phKeep(lab, 'lan', 'expose-dn', ['expose', '7001', ...COMMON, '--keep']);
    try {
      assert.ok(
        await logSays(lab, 'expose-dn', /Reachable\. Give your users: 203\.0\.113\.3:7001\/tcp/, 40),
        lab.log('expose-dn'),
      );
      assert.equal((await connect(lab, 'internet', lab.addresses.publicIp, 7001)).data, 'through-two');
      assert.match(await rules(lab, 'outer'), /dport 7001 dnat ip to 192\.168\.1\.2:7001/);
      assert.match(await rules(lab, 'router'), /dport 7001 dnat ip to 192\.168\.77\.10:7001/);
    } finally {
      process.kill(pid, 'SIGINT');
    }
    assert.ok(
      await logSays(lab, 'expose-dn', /Stopped: the mappings and firewall rules made were removed/, 15),
      lab.log('expose-dn'),
    );
    assert.doesNotMatch(await rules(lab, 'outer'), /dport 7001/);
    assert.doesNotMatch(await rules(lab, 'router'), /dport 7001/);
  });

  it("the doctor's double-NAT fix names the router in front; pasted, it works, and unmap undoes both", async () => {
    const { lab } = env;
    const before = await doctor(lab, 'lan', '7003');
    const mapping = find(before.report, 'mapping:7003/tcp');
    assert.equal(mapping?.cause, 'double-nat', JSON.stringify(before.report.findings));
    const [fix] = fixCommands(mapping?.fix);
    assert.equal(fix, `map 7003/tcp --outer ${PLAN.outerInside}`);
    const mapped = await ph(lab, 'lan', (fix ?? '').split(' '));
    assert.equal(mapped.code, 0, mapped.stdout + mapped.stderr);
    assert.match(mapped.stdout, /give your users: 203\.0\.113\.3:7003\/tcp/);
    // The line names the command that proves the address from outside: it is the one run next.
    const proves = /not yet proven from outside: `porthole doctor (\S+)` proves it/.exec(mapped.stdout)?.[1];
    assert.equal(proves, '7003/tcp', mapped.stdout);
    const after = await doctor(lab, 'lan', proves);
    assert.equal(after.report.reachable, true, JSON.stringify(after.report.findings.filter((f) => f.status !== 'ok')));
    const removed = await ph(lab, 'lan', ['unmap', '7003']);
    assert.equal(removed.code, 0);
    assert.doesNotMatch(await rules(lab, 'outer'), /dport 7003/);
    assert.doesNotMatch(await rules(lab, 'router'), /dport 7003/);
  });

  it("the library's unmapPort removes a mapping on the router in front too (the page's Remove)", async () => {
    const { lab } = env;
    const fixture = fileURLToPath(new URL('./fixtures/unmapOuter.ts', import.meta.url));
    const run = await lab.exec('lan', process.execPath, ['--import', 'tsx', fixture, '7004'], {
      timeoutMs: 30_000,
      env: { XDG_STATE_HOME: `${lab.state.dir}/state-unmap-outer`, PORTHOLE_ONLY_GATEWAYS: GATEWAYS },
    });
    assert.equal(run.code, 0, run.stderr);
    const result = JSON.parse(run.stdout) as { outer?: string; removed: string[]; failed: string[] };
    assert.equal(result.outer, PLAN.outerInside, run.stdout);
    assert.deepEqual(result.failed, []);
    assert.deepEqual(result.removed.sort(), [PLAN.outerInside, lab.addresses.routerLan].sort());
    assert.doesNotMatch(await rules(lab, 'outer'), /dport 7004/);
    assert.doesNotMatch(await rules(lab, 'router'), /dport 7004/);
  });
});
