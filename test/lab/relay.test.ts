/**
 * Relay mode end to end in the lab: porthole's client against OpenSSH sshd and against
 * `porthole relay serve` in the internet namespace, OpenSSH's `ssh -R` against porthole's relay,
 * PROXY protocol into nginx, UDP, a relay restart, refusals and bad inputs (cgnat lab); CONNECT
 * through squid and WebSocket on port 80 from a venue that lets out only those (venue lab).
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import type { Lab } from '../../lab/lab.js';
import { portholeArgv } from '../../lab/porthole.js';
import {
  type LabKey,
  makeKey,
  startPortholeRelay,
  startProxyProtocolServer,
  startRelayOpen,
  startSquid,
  startSshd,
  startUdpEcho,
  stopProcess,
} from '../../lab/relay.js';
import { sleep } from '../../src/deadline/index.js';
import { connect, fixCommands, labSkip, listen, porthole, startPorthole, useLab } from './support.js';

const BANNER = 'lan-server-7001';
const RELAY_PORT = 2222;

/** Runs `porthole ARGS --json` on a host to completion: exit code and parsed JSON. */
async function runPorthole(lab: Lab, args: readonly string[], timeoutMs = 30_000) {
  const result = await lab.exec('lan', process.execPath, portholeArgv([...args, '--json']), {
    timeoutMs,
  });
  let json: { error?: { code?: string; hint?: string } } = {};
  try {
    json = JSON.parse(result.stdout) as typeof json;
  } catch {
    // Not JSON: the assertion below shows stdout and stderr.
  }
  return { code: result.code, json, text: `${result.stdout}\n${result.stderr}` };
}

/** Public TCP listeners on a port in the internet namespace (to see that nothing is left or doubled). */
async function listenersOn(lab: Lab, port: number): Promise<number> {
  const sockets = await lab.exec('internet', 'ss', ['-Hltn', `sport = :${port}`]);
  return sockets.stdout.split('\n').filter((line) => line.includes(`:${port}`)).length;
}

/** Sends one UDP datagram from the internet host to address:port and returns the answer ('' on none). */
async function udpExchange(lab: Lab, address: string, port: number, text: string): Promise<string> {
  const result = await lab.exec('internet', 'socat', ['-T2', '-', `UDP4:${address}:${port}`], {
    input: text,
    timeoutMs: 5000,
  });
  return result.stdout.trim();
}

/** OpenSSH's `ssh -N -R FORWARD` to porthole's relay as tenant alice, never asking anything (BatchMode). */
const sshRemoteForward = (key: LabKey, relayHost: string, forward: string) => [
  '-N',
  '-o',
  'StrictHostKeyChecking=no',
  '-o',
  'UserKnownHostsFile=/dev/null',
  '-o',
  'ExitOnForwardFailure=yes',
  '-o',
  'BatchMode=yes',
  '-i',
  key.privateFile,
  '-p',
  String(RELAY_PORT),
  '-R',
  forward,
  `alice@${relayHost}`,
];

const tenantsFor = (key: LabKey) =>
  [
    'tenants:',
    '  - name: alice',
    `    key: "${key.publicLine}"`,
    '    ports: [20007]',
    '    pool: 20100-20199',
    '    udp: true',
    '  - name: bob',
    '    token: bob-token-0123456789',
    '    ports: [20500]',
    '',
  ].join('\n');

describe('relay in the cgnat lab', { skip: labSkip() }, () => {
  const context = useLab({ topology: 'cgnat', upnp: false, natpmp: false });
  let key: LabKey;
  let stranger: LabKey;
  let relayPid: number;
  let data: string;
  const sshdUrl = () => `ssh://root@${context.lab.addresses.internet}:22`;
  const relayUrl = (user = 'alice') => `ssh://${user}@${context.lab.addresses.internet}:${RELAY_PORT}`;
  const common = () => ['--identity', key.privateFile, '--data', data];

  before(async () => {
    const { lab } = context;
    data = join(lab.state.dir, 'client-data');
    [key, stranger] = await Promise.all([makeKey(lab, 'client'), makeKey(lab, 'stranger')]);
    await Promise.all([
      startSshd(lab, { name: 'sshd', address: lab.addresses.internet, port: 22, authorizedKeys: [key.publicLine] }),
      startSshd(lab, {
        name: 'sshd-noforward',
        address: lab.addresses.internet,
        port: 2223,
        authorizedKeys: [key.publicLine],
        allowTcpForwarding: 'no',
      }),
      startSshd(lab, {
        name: 'sshd-nogateway',
        address: lab.addresses.internet,
        port: 2224,
        authorizedKeys: [key.publicLine],
        gatewayPorts: 'no',
      }),
      listen(lab, 'lan', 7001, BANNER),
      startProxyProtocolServer(lab, 'lan', 7002),
      startUdpEcho(lab, 'lan', 7003),
    ]);
    relayPid = await startPortholeRelay(lab, 'relay', [`${lab.addresses.internet}:${RELAY_PORT}`], tenantsFor(key));
  });

  it('porthole relay open against OpenSSH sshd: the internet reaches the LAN server, proven, and nothing stays', async () => {
    const { lab } = context;
    const tunnel = await startRelayOpen(lab, 'lan', 'open-sshd', [
      '7001',
      '--relay',
      sshdUrl(),
      '--remote-port',
      '20001',
      ...common(),
    ]);
    assert.equal(tunnel.opened.publicAddress, `${lab.addresses.internet}:20001`);
    assert.equal(tunnel.opened.verified, true, tunnel.log());
    assert.equal(tunnel.opened.hostKey, 'recorded');
    const visit = await connect(lab, 'internet', lab.addresses.internet, 20001);
    assert.equal(visit.data, BANNER);
    await stopProcess(tunnel.pid);
    await sleep(300);
    assert.equal(await listenersOn(lab, 20001), 0, 'sshd still listens after the tunnel closed');
  });

  it('expose --relay: the direct road is closed (no mapping protocol), so expose goes through the relay, proven', async () => {
    const { lab } = context;
    const started = performance.now();
    const once = await porthole(lab, 'lan', ['expose', '7001', '--relay', sshdUrl(), ...common(), '--json'], 60_000);
    assert.equal(once.code, 0, once.stdout + once.stderr);
    const result = JSON.parse(once.stdout) as {
      reachable: boolean;
      mode: string;
      relays: { port: number; publicAddress: string; verified: boolean | null }[];
      relayBecause: string;
      findings: { id: string; status: string }[];
    };
    assert.equal(result.mode, 'relay');
    assert.equal(result.reachable, true);
    assert.equal(result.relays[0]?.verified, true);
    assert.match(result.relayBecause, /mapping failed/);
    assert.equal(result.findings.find((f) => f.id === 'relay:7001/tcp')?.status, 'ok');
    process.stderr.write(
      `# expose --relay, direct failed to reachable via relay: ${Math.round(performance.now() - started)} ms (whole process)\n`,
    );

    // --keep: the tunnel stays for users until Ctrl-C, then nothing is left on the relay.
    const pid = startPorthole(lab, 'lan', 'expose-relay', [
      'expose',
      '7001',
      '--relay',
      sshdUrl(),
      ...common(),
      '--keep',
      '--json',
    ]);
    let give = '';
    for (let i = 0; i < 100 && !give; i++) {
      give = /"kind":"relay".*?"give":\["([^"]+)"/.exec(lab.log('expose-relay'))?.[1] ?? '';
      if (!give) await sleep(100);
    }
    assert.ok(give, `no address given:\n${lab.log('expose-relay')}`);
    const [host, port] = give.split(':');
    const visit = await connect(lab, 'internet', host ?? '', Number(port));
    assert.equal(visit.data, BANNER);
    process.kill(pid, 'SIGINT');
    for (let i = 0; i < 50 && (await listenersOn(lab, Number(port))) > 0; i++) await sleep(100);
    assert.equal(await listenersOn(lab, Number(port)), 0, 'the relay still listens after Ctrl-C');
  });

  it('the doctor names the configured relay in its fix, and the fix (with the relay and key from the environment) works', async () => {
    const { lab } = context;
    // A user's set-up: the relay and its key in the environment, the URL without a user, which comes from relay.user.
    const userEnv = {
      PORTHOLE_RELAY: `ssh://${lab.addresses.internet}:22`,
      PORTHOLE_RELAY_USER: 'root',
      PORTHOLE_RELAY_KEY_FILE: key.privateFile,
      XDG_DATA_HOME: join(lab.state.dir, 'doctor-user-data'),
      XDG_STATE_HOME: join(lab.state.dir, 'doctor-user-state'),
      XDG_CONFIG_HOME: join(lab.state.dir, 'doctor-user-config'),
    };
    const run = (args: readonly string[]) =>
      lab.exec('lan', process.execPath, portholeArgv([...args, '--json']), {
        timeoutMs: 60_000,
        env: userEnv,
      });
    const diagnosed = await run(['doctor', '7001']);
    assert.equal(diagnosed.code, 1, diagnosed.stdout + diagnosed.stderr);
    const report = JSON.parse(diagnosed.stdout) as {
      findings: { id: string; cause: string | null; fix: string | null }[];
    };
    const mapping = report.findings.find((f) => f.id === 'mapping:7001/tcp');
    assert.equal(mapping?.cause, 'router-refuses-mapping');
    const fixes = fixCommands(mapping?.fix);
    const relayFix = fixes.find((fix) => fix.includes('--relay')) ?? '';
    assert.equal(relayFix, `expose 7001/tcp --relay ssh://${lab.addresses.internet}:22`);
    const pasted = await run(relayFix.split(' '));
    assert.equal(pasted.code, 0, pasted.stdout + pasted.stderr);
    const result = JSON.parse(pasted.stdout) as {
      reachable: boolean;
      mode: string;
      relays: { verified: boolean | null }[];
    };
    assert.deepEqual([result.mode, result.reachable, result.relays[0]?.verified], ['relay', true, true]);
  });

  it('porthole relay open against porthole relay serve: a port from the pool, known host key now', async () => {
    const { lab } = context;
    const tunnel = await startRelayOpen(lab, 'lan', 'open-relay', ['7001', '--relay', relayUrl(), ...common()]);
    try {
      const port = Number(tunnel.opened.publicPort);
      assert.ok(port >= 20100 && port <= 20199, String(port));
      assert.equal(tunnel.opened.verified, true, tunnel.log());
      assert.equal((await connect(lab, 'internet', lab.addresses.internet, port)).data, BANNER);
    } finally {
      await stopProcess(tunnel.pid);
    }
  });

  it('OpenSSH ssh -R (port 0 and a fixed port) works against porthole relay serve', async () => {
    const { lab } = context;
    const any = lab.startBackground(
      'lan',
      'ssh-any',
      'ssh',
      sshRemoteForward(key, lab.addresses.internet, '0:localhost:7001'),
    );
    const fixed = lab.startBackground(
      'lan',
      'ssh-fixed',
      'ssh',
      sshRemoteForward(key, lab.addresses.internet, '20007:localhost:7001'),
    );
    try {
      let allocated = 0;
      for (let i = 0; i < 100 && allocated === 0; i++) {
        allocated = Number(/Allocated port (\d+)/.exec(lab.log('ssh-any'))?.[1] ?? 0);
        await sleep(100);
      }
      assert.ok(allocated >= 20100 && allocated <= 20199, lab.log('ssh-any'));
      assert.equal((await connect(lab, 'internet', lab.addresses.internet, allocated)).data, BANNER);
      let answered = '';
      for (let i = 0; i < 50 && answered !== BANNER; i++) {
        answered = (await connect(lab, 'internet', lab.addresses.internet, 20007, 1)).data;
        if (answered !== BANNER) await sleep(100);
      }
      assert.equal(answered, BANNER, lab.log('ssh-fixed'));
    } finally {
      await Promise.all([stopProcess(any), stopProcess(fixed)]);
    }
  });

  it('refuses a port the tenant does not own and a wrong key, and stays up', async () => {
    const { lab } = context;
    const notOwned = await runPorthole(lab, [
      'relay',
      'open',
      '7001',
      '--relay',
      relayUrl(),
      '--remote-port',
      '20500',
      ...common(),
    ]);
    assert.equal(notOwned.code, 3, notOwned.text);
    assert.equal(notOwned.json.error?.code, 'E_RELAY_FORWARD_REFUSED');
    const ssh = await lab.exec('lan', 'ssh', sshRemoteForward(key, lab.addresses.internet, '20500:localhost:7001'), {
      timeoutMs: 10_000,
    });
    assert.notEqual(ssh.code, 0);
    assert.match(ssh.stderr, /remote port forwarding failed/);
    const wrongKey = await runPorthole(lab, [
      'relay',
      'open',
      '7001',
      '--relay',
      relayUrl(),
      '--identity',
      stranger.privateFile,
      '--data',
      data,
    ]);
    assert.equal(wrongKey.code, 3, wrongKey.text);
    assert.equal(wrongKey.json.error?.code, 'E_RELAY_AUTH');
    assert.equal(await listenersOn(lab, 20500), 0);
    const metrics = lab.log('relay');
    assert.match(metrics, /"reason":"port-not-owned"/);
    assert.match(metrics, /"reason":"auth"/);
    // Still serving: a good tenant gets its tunnel.
    const tunnel = await startRelayOpen(lab, 'lan', 'open-after-refusals', [
      '7001',
      '--relay',
      relayUrl(),
      ...common(),
    ]);
    await stopProcess(tunnel.pid);
  });

  it('sends the visitor address in a PROXY header that nginx reads', async () => {
    const { lab } = context;
    const tunnel = await startRelayOpen(lab, 'lan', 'open-proxy', [
      '7002',
      '--relay',
      sshdUrl(),
      '--remote-port',
      '20002',
      '--proxy-protocol',
      'v1',
      '--no-verify',
      ...common(),
    ]);
    try {
      const page = await lab.exec(
        'internet',
        'curl',
        ['-sS', '--max-time', '3', '--interface', lab.addresses.internetAlt, `http://${lab.addresses.internet}:20002/`],
        { timeoutMs: 6000 },
      );
      assert.equal(page.stdout.trim(), `visitor=${lab.addresses.internetAlt}`, page.stderr);
    } finally {
      await stopProcess(tunnel.pid);
    }
  });

  it('carries UDP through porthole relay serve, and reports UDP as unsupported by sshd', async () => {
    const { lab } = context;
    const tunnel = await startRelayOpen(lab, 'lan', 'open-udp', [
      '7003',
      '--relay',
      relayUrl(),
      '--udp',
      '--no-verify',
      ...common(),
    ]);
    try {
      const udpPort = Number(tunnel.opened.publicUdpPort);
      assert.ok(udpPort >= 20100, tunnel.log());
      assert.equal(await udpExchange(lab, lab.addresses.internet, udpPort, 'ping-udp'), 'ping-udp');
    } finally {
      await stopProcess(tunnel.pid);
    }
    const plain = await runPorthole(lab, ['relay', 'open', '7003', '--relay', sshdUrl(), '--udp', ...common()]);
    assert.equal(plain.code, 3, plain.text);
    assert.equal(plain.json.error?.code, 'E_RELAY_UDP_UNSUPPORTED');
    assert.equal(await listenersOn(lab, 20001), 0);
  });

  it('re-makes the tunnel within 5 s of the relay coming back, with one listener', async () => {
    const { lab } = context;
    const tunnel = await startRelayOpen(lab, 'lan', 'open-restart', [
      '7001',
      '--relay',
      relayUrl(),
      '--remote-port',
      '20007',
      ...common(),
    ]);
    try {
      await stopProcess(relayPid);
      assert.equal((await connect(lab, 'internet', lab.addresses.internet, 20007, 1)).outcome, 'refused');
      await sleep(1000);
      relayPid = await startPortholeRelay(lab, 'relay', [`${lab.addresses.internet}:${RELAY_PORT}`], tenantsFor(key));
      const back = performance.now();
      let answered = false;
      while (!answered && performance.now() - back < 8000) {
        answered = (await connect(lab, 'internet', lab.addresses.internet, 20007, 1)).data === BANNER;
        if (!answered) await sleep(100);
      }
      const seconds = (performance.now() - back) / 1000;
      assert.ok(answered && seconds <= 5, `answered=${answered} after ${seconds.toFixed(1)} s\n${tunnel.log()}`);
      assert.equal(await listenersOn(lab, 20007), 1);
    } finally {
      await stopProcess(tunnel.pid);
    }
  });

  it('bad inputs: bad URL, unreachable relay, changed host key, forwarding refused, GatewayPorts no', async () => {
    const { lab } = context;
    const badUrl = await runPorthole(lab, ['relay', 'open', '7001', '--relay', 'relay.example.net', ...common()]);
    assert.deepEqual([badUrl.code, badUrl.json.error?.code], [2, 'E_RELAY_URL'], badUrl.text);
    const unreachable = await runPorthole(lab, [
      'relay',
      'open',
      '7001',
      '--relay',
      `ssh://root@${lab.addresses.internet}:2999`,
      ...common(),
    ]);
    assert.deepEqual([unreachable.code, unreachable.json.error?.code], [3, 'E_RELAY_UNREACHABLE'], unreachable.text);
    const pinned = join(lab.state.dir, 'pinned-data');
    mkdirSync(pinned, { recursive: true });
    const wrong = (await lab.exec('internet', 'cat', [`${stranger.privateFile}.pub`])).stdout.trim().split(' ');
    writeFileSync(join(pinned, 'known_hosts'), `${lab.addresses.internet} ${wrong[0]} ${wrong[1]}\n`);
    const changed = await runPorthole(lab, [
      'relay',
      'open',
      '7001',
      '--relay',
      sshdUrl(),
      '--identity',
      key.privateFile,
      '--data',
      pinned,
    ]);
    assert.deepEqual([changed.code, changed.json.error?.code], [3, 'E_RELAY_HOST_KEY_CHANGED'], changed.text);
    assert.match(changed.json.error?.hint ?? '', /ssh-keygen -R/);
    const noForward = await runPorthole(lab, [
      'relay',
      'open',
      '7001',
      '--relay',
      `ssh://root@${lab.addresses.internet}:2223`,
      ...common(),
    ]);
    assert.deepEqual([noForward.code, noForward.json.error?.code], [3, 'E_RELAY_FORWARD_REFUSED'], noForward.text);
    const noGateway = await runPorthole(lab, [
      'relay',
      'open',
      '7001',
      '--relay',
      `ssh://root@${lab.addresses.internet}:2224`,
      '--remote-port',
      '20003',
      ...common(),
    ]);
    assert.deepEqual([noGateway.code, noGateway.json.error?.code], [3, 'E_RELAY_NOT_PUBLIC'], noGateway.text);
    await sleep(300);
    assert.equal(await listenersOn(lab, 20003), 0, 'sshd kept the loopback forward');
  });
});

describe('relay from a venue that lets out only a proxy and port 80', { skip: labSkip() }, () => {
  const context = useLab({ topology: 'venue', upnp: false, natpmp: false, egressTcpPorts: [80, 3128] });
  let key: LabKey;
  let data: string;

  before(async () => {
    const { lab } = context;
    data = join(lab.state.dir, 'client-data');
    key = await makeKey(lab, 'client');
    await Promise.all([listen(lab, 'lan', 7001, BANNER), startSquid(lab, 3128)]);
    await startPortholeRelay(
      lab,
      'relay',
      [`${lab.addresses.internet}:${RELAY_PORT}`, `${lab.addresses.internet}:80`],
      tenantsFor(key),
    );
  });

  it('direct SSH is blocked; the tunnel comes up through squid with CONNECT', async () => {
    const { lab } = context;
    const tunnel = await startRelayOpen(lab, 'lan', 'open-connect', [
      '7001',
      '--relay',
      `ssh://alice@${lab.addresses.internet}:${RELAY_PORT}`,
      '--proxy',
      `http://${lab.addresses.internet}:3128`,
      '--identity',
      key.privateFile,
      '--data',
      data,
    ]);
    try {
      assert.equal(tunnel.opened.transport, 'http-proxy', tunnel.log());
      assert.equal(tunnel.opened.verified, true);
      const port = Number(tunnel.opened.publicPort);
      assert.equal((await connect(lab, 'internet', lab.addresses.internet, port)).data, BANNER);
    } finally {
      await stopProcess(tunnel.pid);
    }
  });

  it('without a proxy, the tunnel comes up over WebSocket on port 80 (tried by default after 443)', async () => {
    const { lab } = context;
    const tunnel = await startRelayOpen(lab, 'lan', 'open-ws', [
      '7001',
      '--relay',
      `ssh://alice@${lab.addresses.internet}:${RELAY_PORT}`,
      '--identity',
      key.privateFile,
      '--data',
      data,
    ]);
    try {
      assert.equal(tunnel.opened.transport, 'websocket:80', tunnel.log());
      assert.equal(tunnel.opened.verified, true);
      const port = Number(tunnel.opened.publicPort);
      assert.equal((await connect(lab, 'internet', lab.addresses.internet, port)).data, BANNER);
    } finally {
      await stopProcess(tunnel.pid);
    }
  });
});
