/**
 * UDP and both families in the lab, against real servers and nmap as the peer: `check PORTS/udp
 * --listen` proves a forwarded UDP port, and says closed or filtered for the others; without a
 * listener, porthole's verdicts for TCP and UDP, IPv4 and IPv6 ports equal nmap -sT / -sU's
 * (real STUN, DNS, silent and answering UDP servers); the check service answers over both
 * families, found through a name with A and AAAA records.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { RunResult } from '../../lab/exec.js';
import type { Lab } from '../../lab/lab.js';
import type { HostName } from '../../lab/topology.js';
import { sleep } from '../../src/deadline/index.js';
import { labSkip, startServe, useLab } from './support.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const LAB_GATEWAYS = '192.168.77.0/24,2001:db8:77::/64';
const CHECKER_NAME = 'checker.example.net';

function porthole(lab: Lab, host: HostName, args: readonly string[]): Promise<RunResult> {
  return lab.exec(host, process.execPath, ['--import', 'tsx', CLI, ...args], {
    timeoutMs: 30_000,
    env: { XDG_STATE_HOME: `${lab.state.dir}/state-${host}`, PORTHOLE_ONLY_GATEWAYS: LAB_GATEWAYS },
  });
}

/** A background socat on `host`, waited for until its socket is bound (bounded: 2 s). */
async function serveWith(lab: Lab, host: HostName, name: string, args: readonly string[], port: number, udp: boolean) {
  lab.startBackground(host, name, 'socat', args);
  for (let i = 0; i < 100; i++) {
    if ((await lab.exec(host, 'ss', [udp ? '-Hlun' : '-Hltn', `sport = :${port}`])).stdout.includes(`:${port}`)) return;
    await sleep(20);
  }
  throw new Error(`${name} did not bind ${port}`);
}

/** nmap's verdicts (-sT for tcp, -sU for udp) from `host`, as `port/proto` → state. */
async function nmap(lab: Lab, host: HostName, address: string, tcp: number[], udp: number[]) {
  const ports = [...tcp.map((p) => `T:${p}`), ...udp.map((p) => `U:${p}`)].join(',');
  const result = await lab.exec(
    host,
    'nmap',
    [
      ...(address.includes(':') ? ['-6'] : []),
      ...(tcp.length > 0 ? ['-sT'] : []),
      ...(udp.length > 0 ? ['-sU'] : []),
      '-Pn',
      '-n',
      '--max-retries',
      '2',
      '-p',
      ports,
      '-oG',
      '-',
      address,
    ],
    { timeoutMs: 60_000 },
  );
  assert.equal(result.code, 0, result.stderr);
  const states = new Map<string, string>();
  for (const match of result.stdout.matchAll(/(\d+)\/(open\|filtered|open|closed|filtered)\/(tcp|udp)/g))
    states.set(`${match[1]}/${match[3]}`, match[2] ?? '');
  return states;
}

interface ProbeJson {
  results: { port: number; protocol: string; state: string; reason: string }[];
}

describe('lab: UDP and both families, checked against nmap', { skip: labSkip() }, () => {
  const env = useLab({
    topology: 'home',
    dnsRecords: { [CHECKER_NAME]: '203.0.113.254,2001:db8:ff::254' },
  });
  before(async () => {
    await startServe(env.lab, 'checker', [
      '--listen',
      '[::]:8080',
      '--allow-targets',
      '203.0.113.0/24,2001:db8::/32',
      '--data',
      `${env.lab.state.dir}/checker-data`,
    ]);
  });

  it('check 5800-5802/udp --listen: open with proof for the forwarded port, filtered and closed for the others', async () => {
    const { lab } = env;
    // 5800 to this host; 5802 to lan2, where nothing listens (its kernel answers port unreachable).
    assert.equal((await porthole(lab, 'lan', ['map', '5800/udp'])).code, 0);
    const lan2 = await porthole(lab, 'lan2', ['map', '5802/udp']);
    assert.equal(lan2.code, 0, lan2.stdout + lan2.stderr);
    const checked = await porthole(lab, 'lan', [
      'check',
      '5800-5802/udp',
      '--listen',
      '--checker',
      `http://${lab.addresses.internet}:8080`,
      '--json',
    ]);
    const json = JSON.parse(checked.stdout) as {
      results: { port: number; state: string; verified: boolean | null; family: number }[];
    };
    const byPort = new Map(json.results.map((r) => [r.port, r]));
    assert.deepEqual(
      [byPort.get(5800)?.state, byPort.get(5800)?.verified, byPort.get(5800)?.family],
      ['open', true, 4],
    );
    assert.equal(byPort.get(5801)?.state, 'filtered');
    assert.equal(byPort.get(5802)?.state, 'closed');
    // nmap -sU can tell closed from silence; for silence it says open|filtered, which our
    // filtered (porthole's own listener was there and was not reached) refines.
    const seen = await nmap(lab, 'internet', lab.addresses.publicIp, [], [5801, 5802]);
    assert.equal(seen.get('5802/udp'), 'closed');
    assert.equal(seen.get('5801/udp'), 'open|filtered');
  });

  it('probe verdicts for TCP and UDP, IPv4 and IPv6, equal nmap -sT / -sU from the same host', async () => {
    const { lab } = env;
    // On the internet host: TCP 7100 open (dual-stack), UDP 5804 answers, UDP 5805 swallows silently;
    // coturn answers STUN on 3478 (IPv4) and dnsmasq DNS on 53 (IPv4); 7101/tcp and 5060/udp are closed.
    await serveWith(lab, 'internet', 'tcp-7100', ['TCP6-LISTEN:7100,fork,reuseaddr', 'SYSTEM:echo hi'], 7100, false);
    await serveWith(lab, 'internet', 'udp-5804', ['UDP6-RECVFROM:5804,fork', 'SYSTEM:echo pong'], 5804, true);
    await serveWith(lab, 'internet', 'udp-5805', ['UDP6-RECVFROM:5805,fork', 'SYSTEM:cat >/dev/null'], 5805, true);
    const plan = [
      { address: lab.addresses.internet, tcp: [7100, 7101], udp: [53, 3478, 5060, 5804, 5805] },
      { address: lab.addresses.internet6, tcp: [7100, 7101], udp: [3478, 5060, 5804, 5805] },
    ];
    for (const { address, tcp, udp } of plan) {
      const spec = [...tcp.map(String), ...udp.map((p) => `${p}/udp`)].join(',');
      const probed = await porthole(lab, 'lan', ['probe', address, spec, '--json', '--retries', '1']);
      const ours = new Map(
        (JSON.parse(probed.stdout) as ProbeJson).results.map((r) => [`${r.port}/${r.protocol}`, r.state]),
      );
      const theirs = await nmap(lab, 'lan', address, tcp, udp);
      assert.deepEqual(Object.fromEntries(ours), Object.fromEntries(theirs), `${address}: porthole vs nmap`);
    }
  });

  it('probe asks a known UDP service in its own protocol (STUN, DNS) and names it', async () => {
    const { lab } = env;
    const probed = await porthole(lab, 'lan', ['probe', lab.addresses.internet, '53/udp,3478/udp', '--json']);
    const reasons = (JSON.parse(probed.stdout) as ProbeJson).results.map((r) => `${r.port}:${r.state}:${r.reason}`);
    assert.deepEqual(reasons, ['53:open:udp-response:dns', '3478:open:udp-response:stun']);
  });

  it('check over a checker name with A and AAAA asks over both families, each result with its family', async () => {
    const { lab } = env;
    assert.equal((await porthole(lab, 'lan', ['map', '7001'])).code, 0);
    assert.equal((await porthole(lab, 'lan', ['map', '7001', '--family', 'ipv6'])).code, 0);
    const checked = await porthole(lab, 'lan', [
      'check',
      '7001',
      '--listen',
      '--checker',
      `http://${CHECKER_NAME}:8080`,
      '--json',
    ]);
    assert.equal(checked.code, 0, checked.stdout + checked.stderr);
    const json = JSON.parse(checked.stdout) as {
      targets: { family: number; target: string }[];
      results: { family: number; target: string; state: string; verified: boolean }[];
    };
    assert.deepEqual(json.targets, [
      { family: 4, target: lab.addresses.publicIp },
      { family: 6, target: lab.addresses.lan6 },
    ]);
    assert.deepEqual(
      json.results.map((r) => [r.family, r.state, r.verified]),
      [
        [4, 'open', true],
        [6, 'open', true],
      ],
    );
    const only6 = await porthole(lab, 'lan', [
      'check',
      '7001',
      '--listen',
      '--checker',
      `http://${CHECKER_NAME}:8080`,
      '--family',
      'ipv6',
      '--json',
    ]);
    assert.deepEqual((JSON.parse(only6.stdout) as { targets: unknown[] }).targets, [
      { family: 6, target: lab.addresses.lan6 },
    ]);
  });

  it('bad targets are coded errors, never a crash: zone ids, link-local, IPv4-mapped', async () => {
    const { lab } = env;
    for (const target of ['fe80::1%eth0', 'fe80::1', '::ffff:203.0.113.254', '169.254.1.1']) {
      const probed = await porthole(lab, 'lan', ['probe', target, '7001', '--json']);
      assert.equal(probed.code, 2, `${target}: ${probed.stdout}${probed.stderr}`);
      assert.equal((JSON.parse(probed.stdout) as { error: { code: string } }).error.code, 'E_ADDRESS_UNSUPPORTED');
    }
    const egress = await porthole(lab, 'lan', ['egress', '--target', 'fe80::1%eth0', '--ports', '80', '--json']);
    assert.equal(egress.code, 2, egress.stdout + egress.stderr);
  });
});
