/**
 * IPv6 in the lab, against the real miniupnpd: `porthole map --family ipv6` opens a pinhole in
 * the router's stateful IPv6 firewall (PCP, then IGDv2), the internet namespace reaches the LAN
 * server over IPv6 through it, `upnpc -6` sees the router's firewall and the pinhole, and
 * `unmap --family ipv6` closes it. Each protocol alone (the other switched off), and the cgnat
 * lab, where IPv4 cannot be mapped but IPv6 is routed natively.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { RunResult } from '../../lab/exec.js';
import type { Lab } from '../../lab/lab.js';
import type { HostName } from '../../lab/topology.js';
import { sleep } from '../../src/deadline/index.js';
import { labSkip, startServe, useLab, waitForLogLine } from './support.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const SUITE = fileURLToPath(new URL('./fixtures/pinholeCompliance.ts', import.meta.url));
/** The lab's LAN on both families: gateway discovery may probe only these. */
const LAB_GATEWAYS = '192.168.77.0/24,2001:db8:77::/64';

/** porthole inside a lab host, allowed to probe the lab's IPv6 router too. */
function porthole6(lab: Lab, host: HostName, args: readonly string[]): Promise<RunResult> {
  return lab.exec(host, process.execPath, ['--import', 'tsx', CLI, ...args], {
    timeoutMs: 30_000,
    env: { XDG_STATE_HOME: `${lab.state.dir}/state-${host}`, PORTHOLE_ONLY_GATEWAYS: LAB_GATEWAYS },
  });
}

/** A socat server on [::]:port in `host` answering `banner`, waited for. */
async function listen6(lab: Lab, host: HostName, port: number, banner: string): Promise<void> {
  lab.startBackground(host, `listener6-${host}-${port}`, 'socat', [
    `TCP6-LISTEN:${port},fork,reuseaddr`,
    `SYSTEM:echo ${banner}`,
  ]);
  for (let i = 0; i < 100; i++) {
    if ((await lab.exec(host, 'ss', ['-Hltn', `sport = :${port}`])).stdout.includes(`:${port}`)) return;
    await sleep(20);
  }
  throw new Error(`socat did not listen on ${host}:${port}`);
}

/** A TCP6 connection from `host` with socat: what the server said, or why there was none. */
async function connect6(lab: Lab, host: HostName, address: string, port: number): Promise<string> {
  const result = await lab.exec(host, 'socat', ['-T2', '-', `TCP6:[${address}]:${port},connect-timeout=2`], {
    timeoutMs: 5000,
  });
  if (result.code === 0) return result.stdout.trim();
  return /timed out/.test(result.stderr) ? 'timeout' : /refused/.test(result.stderr) ? 'refused' : result.stderr;
}

/** The rules miniupnpd keeps in its chain on the router (pinholes show the internal address in hex). */
async function pinholeRules(lab: Lab): Promise<string> {
  return (await lab.exec('router', 'nft', ['list', 'chain', 'inet', 'porthole_lab', 'miniupnpd'])).stdout;
}

/** upnpc -6 against the router's IPv6 description URL (it refuses the reserved IPv4 WAN otherwise). */
function upnpc6(lab: Lab, args: readonly string[]): Promise<RunResult> {
  const url = `http://[${lab.addresses.routerLan6}]:5000/rootDesc.xml`;
  return lab.exec('lan', 'upnpc', ['-6', '-u', url, ...args], { timeoutMs: 10_000 });
}

interface MapJson {
  method: string;
  family: number;
  internalAddress: string;
  externalIp: string;
  externalPort: number;
  lifetime: number;
  pinholeId?: number;
}

describe('lab: IPv6 pinholes on a home router (PCP and IGDv2 over IPv6)', { skip: labSkip() }, () => {
  const env = useLab({ topology: 'home' });
  before(async () => {
    await listen6(env.lab, 'lan', 7001, 'hello6-7001');
    await listen6(env.lab, 'lan', 7002, 'hello6-7002');
  });

  it('both pinhole clients pass the one compliance suite (the mapping contract on IPv6)', async () => {
    const result = await env.lab.exec(
      'lan',
      process.execPath,
      ['--import', 'tsx', '--test', '--test-reporter=spec', SUITE],
      {
        timeoutMs: 60_000,
        env: {
          METHODS: 'pcp,upnp',
          EXPECTED_INTERNAL_IP: env.lab.addresses.lan6,
          PORTHOLE_ONLY_GATEWAYS: LAB_GATEWAYS,
          NODE_TEST_CONTEXT: undefined,
        },
      },
    );
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /pinhole compliance: upnp/);
    assert.match(result.stdout, /ℹ pass 6\n/);
  });

  it('the router firewall drops new inbound IPv6, while the LAN reaches the internet over IPv6', async () => {
    const { lab } = env;
    assert.equal(await connect6(lab, 'internet', lab.addresses.lan6, 7001), 'timeout');
    lab.startBackground('internet', 'listener6-internet', 'socat', [
      'TCP6-LISTEN:7100,fork,reuseaddr',
      'SYSTEM:echo out',
    ]);
    await sleep(200);
    assert.equal(await connect6(lab, 'lan', lab.addresses.internet6, 7100), 'out');
  });

  it('map 7001 --family ipv6 opens a PCP pinhole the internet reaches; unmap closes it', async () => {
    const { lab } = env;
    const mapped = await porthole6(lab, 'lan', ['map', '7001', '--family', 'ipv6', '--json']);
    assert.equal(mapped.code, 0, `${mapped.stdout}${mapped.stderr}\n${lab.log('miniupnpd').slice(-1500)}`);
    const mapping = JSON.parse(mapped.stdout) as MapJson;
    assert.deepEqual(
      [mapping.method, mapping.family, mapping.internalAddress, mapping.externalIp, mapping.externalPort],
      ['pcp', 6, lab.addresses.lan6, lab.addresses.lan6, 7001],
    );
    assert.equal(await connect6(lab, 'internet', lab.addresses.lan6, 7001), 'hello6-7001');
    assert.match(await pinholeRules(lab), /dport 7001 .*0x20010db8007700000000000000000010/);
    // lan2 is not opened by lan's pinhole (the firewall still drops everything else).
    assert.equal(await connect6(lab, 'internet', lab.addresses.lan26, 7001), 'timeout');
    const unmapped = await porthole6(lab, 'lan', ['unmap', '7001', '--family', 'ipv6', '--json']);
    assert.equal(unmapped.code, 0, unmapped.stdout + unmapped.stderr);
    assert.equal((JSON.parse(unmapped.stdout) as { removed: unknown[] }).removed.length, 1);
    assert.doesNotMatch(await pinholeRules(lab), /dport 7001/);
    assert.equal(await connect6(lab, 'internet', lab.addresses.lan6, 7001), 'timeout');
  });

  it('--via upnp opens an IGDv2 pinhole; upnpc -6 shows the firewall and the pinhole by its UniqueID', async () => {
    const { lab } = env;
    const mapped = await porthole6(lab, 'lan', ['map', '7002', '--family', 'ipv6', '--via', 'upnp', '--json']);
    assert.equal(mapped.code, 0, `${mapped.stdout}${mapped.stderr}\n${lab.log('miniupnpd').slice(-1500)}`);
    const mapping = JSON.parse(mapped.stdout) as MapJson;
    assert.equal(mapping.method, 'upnp');
    assert.ok(Number.isInteger(mapping.pinholeId), mapped.stdout);
    assert.equal(await connect6(lab, 'internet', lab.addresses.lan6, 7002), 'hello6-7002');
    const status = await upnpc6(lab, ['-S']);
    assert.match(status.stdout, /Firewall Enabled: Yes/);
    assert.match(status.stdout, /Inbound Pinhole Allowed: Yes/);
    // GetPinholePackets answers for a pinhole that exists and fails with 704 for one that does not.
    const packets = await upnpc6(lab, ['-K', String(mapping.pinholeId)]);
    assert.match(packets.stdout, /GetPinholePackets.*Packets/s, packets.stdout + packets.stderr);
    const unmapped = await porthole6(lab, 'lan', ['unmap', '7002', '--family', 'ipv6']);
    assert.equal(unmapped.code, 0, unmapped.stdout + unmapped.stderr);
    assert.match(unmapped.stdout, /closed IPv6 pinhole \[2001:db8:77::10\]:7002\/tcp \(upnp\)/);
    const gone = await upnpc6(lab, ['-K', String(mapping.pinholeId)]);
    assert.match(gone.stdout + gone.stderr, /704|NoSuchEntry|failed/);
    assert.equal(await connect6(lab, 'internet', lab.addresses.lan6, 7002), 'timeout');
  });

  it('a pinhole upnpc -6 -A opened is as reachable as porthole’s, and upnpc -6 -D closes it', async () => {
    const { lab } = env;
    const added = await upnpc6(lab, ['-A', '', '0', lab.addresses.lan6, '7001', 'tcp', '600']);
    const id = /Pinhole ID = (\d+)/.exec(added.stdout)?.[1];
    assert.ok(id, added.stdout + added.stderr);
    assert.equal(await connect6(lab, 'internet', lab.addresses.lan6, 7001), 'hello6-7001');
    await upnpc6(lab, ['-D', id]);
    assert.equal(await connect6(lab, 'internet', lab.addresses.lan6, 7001), 'timeout');
  });

  it('IGDv2 refuses internal ports below 1024 (606): a coded error that says why, and nothing left behind', async () => {
    const { lab } = env;
    const refused = await porthole6(lab, 'lan', ['map', '80', '--family', 'ipv6', '--via', 'upnp', '--json']);
    assert.equal(refused.code, 3, refused.stdout + refused.stderr);
    const { error } = JSON.parse(refused.stdout) as { error: { code: string; hint: string; upnpCode: number } };
    assert.equal(error.code, 'E_PINHOLE_REFUSED');
    assert.equal(error.upnpCode, 606);
    assert.match(error.hint, /below 1024/);
    assert.doesNotMatch(await pinholeRules(lab), /dport 80 /);
  });

  it('map --family ipv6 --keep renews at half the lease, re-opens after a router restart, and Ctrl-C closes it', async () => {
    const { lab } = env;
    // IGDv2, whose lease can be short (PCP's is at least miniupnpd's min_lifetime, 120 s).
    const pid = lab.startBackground('lan', 'keeper6', 'env', [
      `PORTHOLE_ONLY_GATEWAYS=${LAB_GATEWAYS}`,
      `XDG_STATE_HOME=${lab.state.dir}/state-keeper6`,
      process.execPath,
      '--import',
      'tsx',
      CLI,
      'map',
      '7002',
      '--family',
      'ipv6',
      '--via',
      'upnp',
      '--lease',
      '4',
      '--keep',
    ]);
    const reachable = async (want: boolean, seconds: number) => {
      for (let i = 0; i < seconds * 2; i++) {
        if (((await connect6(lab, 'internet', lab.addresses.lan6, 7002)) === 'hello6-7002') === want) return true;
        await sleep(500);
      }
      return false;
    };
    assert.ok(await reachable(true, 10), `opened by the keeper:\n${lab.log('keeper6')}`);
    // Past two leases: still open, because it was renewed (UpdatePinhole) at half of each.
    await sleep(5000);
    assert.ok(await reachable(true, 1), `kept open past its lease:\n${lab.log('keeper6')}`);
    assert.match(lab.log('keeper6'), /renewed/);
    await lab.restartRouterDaemon();
    assert.ok(await reachable(true, 8), `re-opened after the router restart:\n${lab.log('keeper6')}`);
    process.kill(pid, 'SIGINT');
    assert.ok(await reachable(false, 6), `closed on Ctrl-C:\n${lab.log('keeper6')}`);
    assert.ok(await waitForLogLine(lab, 'keeper6', /removed/, 3), lab.log('keeper6'));
    assert.doesNotMatch(await pinholeRules(lab), /dport 7002/);
  });

  it('--lease 0 (permanent) becomes the longest lease a pinhole can have, never a PCP delete', async () => {
    const { lab } = env;
    const mapped = await porthole6(lab, 'lan', ['map', '7003', '--family', 'ipv6', '--lease', '0', '--json']);
    assert.equal(mapped.code, 0, mapped.stdout + mapped.stderr);
    assert.equal((JSON.parse(mapped.stdout) as MapJson).lifetime, 86_400);
    assert.match(await pinholeRules(lab), /dport 7003/);
    assert.equal((await porthole6(lab, 'lan', ['unmap', '7003', '--family', 'ipv6'])).code, 0);
  });
});

// A router that speaks one pinhole protocol only: porthole takes it (PCP first, IGDv2 otherwise).
for (const only of [
  { what: 'PCP alone (UPnP off)', router: { upnp: false }, method: 'pcp', banner: 'pcp-only' },
  { what: 'IGDv2 alone (NAT-PMP/PCP off)', router: { natpmp: false }, method: 'upnp', banner: 'igd-only' },
] as const) {
  describe(`lab: IPv6 pinholes through ${only.what}`, { skip: labSkip() }, () => {
    const env = useLab({ topology: 'home', ...only.router });
    before(() => listen6(env.lab, 'lan', 7001, only.banner));

    it(`map --family ipv6 uses ${only.method} and the internet reaches the server`, async () => {
      const { lab } = env;
      const mapped = await porthole6(lab, 'lan', ['map', '7001', '--family', 'ipv6', '--json']);
      assert.equal(mapped.code, 0, mapped.stdout + mapped.stderr);
      assert.equal((JSON.parse(mapped.stdout) as MapJson).method, only.method);
      assert.equal(await connect6(lab, 'internet', lab.addresses.lan6, 7001), only.banner);
      assert.equal((await porthole6(lab, 'lan', ['unmap', '7001', '--family', 'ipv6'])).code, 0);
      assert.equal(await connect6(lab, 'internet', lab.addresses.lan6, 7001), 'timeout');
    });
  });
}

describe('lab: behind carrier NAT, IPv6 is the way in', { skip: labSkip() }, () => {
  const env = useLab({ topology: 'cgnat' });
  before(() => listen6(env.lab, 'lan', 7001, 'cgnat-v6'));

  it('IPv4 cannot be mapped (no public address) while the IPv6 pinhole works from the internet', async () => {
    const { lab } = env;
    const v4 = await porthole6(lab, 'lan', ['map', '7001', '--json']);
    assert.notEqual(v4.code, 0, v4.stdout);
    assert.match(v4.stdout, /no usable public address/);
    const v6 = await porthole6(lab, 'lan', ['map', '7001', '--family', 'ipv6', '--json']);
    assert.equal(v6.code, 0, v6.stdout + v6.stderr);
    assert.equal((JSON.parse(v6.stdout) as MapJson).externalIp, lab.addresses.lan6);
    assert.equal(await connect6(lab, 'internet', lab.addresses.lan6, 7001), 'cgnat-v6');
    assert.equal((await porthole6(lab, 'lan', ['unmap', '7001', '--family', 'ipv6'])).code, 0);
  });

  it('expose behind carrier NAT: IPv4 cannot work, so expose opens the IPv6 pinhole and proves it, with the address to give users', async () => {
    const { lab } = env;
    await startServe(lab, 'checker6', [
      '--listen',
      '[::]:8080',
      '--allow-targets',
      '203.0.113.0/24,2001:db8::/32',
      '--data',
      `${lab.state.dir}/checker6-data`,
      '--log-level',
      'silent',
    ]);
    // The doctor says so plainly, and its fix is the command run below.
    const doctor = await porthole6(lab, 'lan', [
      'doctor',
      '7001',
      '--checker',
      `http://${lab.addresses.internet}:8080`,
      '--stun',
      lab.addresses.internet,
      '--json',
    ]);
    const nat = (
      JSON.parse(doctor.stdout) as { findings: { id: string; cause: string | null; fix: string | null }[] }
    ).findings.find((f) => f.id === 'nat');
    assert.equal(nat?.cause, 'cgnat', doctor.stdout);
    assert.match(nat?.fix ?? '', /`porthole expose 7001 --family ipv6`/);
    const run = await porthole6(lab, 'lan', [
      'expose',
      '7001',
      '--family',
      'ipv6',
      '--checker',
      `http://${lab.addresses.internet}:8080`,
      '--checker6',
      `http://[${lab.addresses.internet6}]:8080`,
      '--stun',
      lab.addresses.internet,
      '--json',
    ]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const result = JSON.parse(run.stdout) as {
      reachable: boolean;
      family: number;
      publicAddress: string;
      ipv6Because: string;
      findings: { id: string; status: string }[];
    };
    assert.equal(result.family, 6);
    assert.equal(result.reachable, true);
    assert.equal(result.publicAddress, `[${lab.addresses.lan6}]`);
    assert.match(result.ipv6Because, /--family ipv6/);
    assert.equal(result.findings.find((f) => f.id === 'outside-in:7001/tcp/ipv6')?.status, 'ok');
    const human = await porthole6(lab, 'lan', ['unmap', '7001', '--family', 'ipv6']);
    assert.equal(human.code, 0, human.stdout);

    // Without --family, expose finds the IPv4 road closed and takes the IPv6 one by itself.
    const auto = await porthole6(lab, 'lan', [
      'expose',
      '7001',
      '--checker',
      `http://${lab.addresses.internet}:8080`,
      '--checker6',
      `http://[${lab.addresses.internet6}]:8080`,
      '--stun',
      lab.addresses.internet,
      '--json',
    ]);
    assert.equal(auto.code, 0, auto.stdout + auto.stderr);
    const chosen = JSON.parse(auto.stdout) as { family: number; reachable: boolean; ipv6Because: string };
    assert.deepEqual([chosen.family, chosen.reachable], [6, true]);
    assert.match(chosen.ipv6Because, /IPv4/);
    assert.equal((await porthole6(lab, 'lan', ['unmap', '7001', '--family', 'ipv6'])).code, 0);
  });
});
