/**
 * The check service as a fleet, in the home lab: a real nats-server (TLS with a lab CA,
 * accounts, per-role permissions, JetStream) on the internet host with the front beside it, and three vantages in
 * namespaces of their own on other "internet" subnets, one behind an upstream filter (tcp 25
 * and 7002 towards the home network dropped). The LAN host forwards ports with natpmpc on the
 * real miniupnpd and runs `porthole check --vantage` as a user would.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type FleetLab, startFleetLab } from '../../lab/fleet.js';
import { sleep } from '../../src/deadline/index.js';
import { fixCommands, labSkip, listen, natpmpcMap, porthole, useLab } from './support.js';

const PEER = fileURLToPath(new URL('./fixtures/fleetPeer.ts', import.meta.url));

interface FleetJson {
  id: string;
  target: string;
  vantages: {
    name: string;
    region: string;
    state: string;
    reason?: string;
    ms: number;
    results: { port: number; state: string }[];
  }[];
  combined: {
    reachable: string;
    from: string[];
    notFrom: string[];
    unknown: string[];
    summary: string;
    ports: { port: number; reachable: string; notFrom: string[] }[];
  };
}

describe('lab: the check service as a fleet of vantages over NATS', { skip: labSkip() }, () => {
  const env = useLab({ topology: 'home' });
  let fleet: FleetLab | undefined;
  const vantageFlags = ['--allow-targets', '203.0.113.0/24', '--heartbeat', '500', '--rate-limit', '1000'];
  after(() => fleet?.stop());
  before(async () => {
    const { lab } = env;
    fleet = await startFleetLab(lab);
    await fleet.startNats();
    // The front first: it makes the signing key whose public half the vantages are given.
    await fleet.startFront([
      '--probe-timeout',
      '2000',
      '--stall',
      '1000',
      '--deadline',
      '8000',
      '--rate-limit',
      '1000',
    ]);
    const started = fleet;
    await Promise.all(started.vantages.map((v) => started.startVantage(v.name, vantageFlags)));
    for (const port of [7001, 7002]) {
      assert.equal((await natpmpcMap(lab, port, 600)).code, 0);
      await listen(lab, 'lan', port, `server-${port}`);
    }
  });

  function theFleet(): FleetLab {
    if (!fleet) throw new Error('the fleet lab did not start');
    return fleet;
  }

  async function check(ports: string, vantage: string, expectExit?: number): Promise<FleetJson> {
    const args = ['check', ports, '--checker', theFleet().frontUrl, '--vantage', vantage, '--json'];
    const result = await porthole(env.lab, 'lan', args, 40_000);
    if (expectExit !== undefined) assert.equal(result.code, expectExit, `${result.stderr}${result.stdout}`);
    else assert.ok(result.code === 0 || result.code === 1, `exit ${result.code}: ${result.stderr}`);
    return JSON.parse(result.stdout) as FleetJson;
  }

  /** What the front knows of each vantage (GET /v1/vantages, asked from the LAN host). */
  async function probedCounts(): Promise<Record<string, number>> {
    const script = `fetch('${theFleet().frontUrl}/v1/vantages').then((r) => r.text()).then((t) => console.log(t))`;
    const result = await env.lab.exec('lan', process.execPath, ['-e', script], { timeoutMs: 10_000 });
    const body = JSON.parse(result.stdout) as { vantages: { name: string; probed: number }[] };
    return Object.fromEntries(body.vantages.map((v) => [v.name, v.probed]));
  }

  const byName = (body: FleetJson) => Object.fromEntries(body.vantages.map((v) => [v.name, v]));

  it('a port open from everywhere: open from all three, reachable from all', async () => {
    const body = await check('7001', 'all', 0);
    assert.equal(body.target, env.lab.addresses.publicIp);
    assert.deepEqual(
      body.vantages.map((v) => [v.name, v.region, v.state, v.results.map((r) => r.state)]),
      [
        ['v3', 'ap', 'answered', ['open']],
        ['v1', 'eu', 'answered', ['open']],
        ['v2', 'us', 'answered', ['open']],
      ],
    );
    assert.equal(body.combined.reachable, 'all');
    assert.match(body.combined.summary, /^reachable from all/);
    // Recorded once, by id, in the KV bucket every front shares; a second record of it is refused.
    const f = theFleet();
    const record = await f.exec(
      'v1',
      process.execPath,
      ['--import', 'tsx', PEER, 'record', f.natsUrl, f.frontAuth, body.id],
      { timeoutMs: 20_000, env: { NATS_CA: f.caFile } },
    );
    assert.equal(record.code, 0, record.stderr);
    const stored = JSON.parse(record.stdout) as { target: string; revision: number | null; duplicateRefused: boolean };
    assert.equal(stored.target, env.lab.addresses.publicIp);
    assert.equal(stored.duplicateRefused, true);
  });

  it('the filtered port: open from two, filtered from the vantage behind the filter, which the verdict names', async () => {
    const body = await check('7001,7002', 'all', 1);
    const vantages = byName(body);
    assert.deepEqual(
      vantages.v1?.results.map((r) => r.state),
      ['open', 'open'],
    );
    assert.deepEqual(
      vantages.v2?.results.map((r) => r.state),
      ['open', 'open'],
    );
    assert.deepEqual(
      vantages.v3?.results.map((r) => r.state),
      ['open', 'filtered'],
    );
    assert.equal(body.combined.reachable, 'some');
    assert.deepEqual(body.combined.notFrom, ['v3']);
    assert.deepEqual(body.combined.ports.find((p) => p.port === 7002)?.notFrom, ['v3']);
    assert.match(body.combined.summary, /7002\/tcp not from v3/);
    // Asking only the unfiltered regions: reachable from all of them.
    const some = await check('7002', 'eu,us', 0);
    assert.deepEqual(some.vantages.map((v) => v.name).sort(), ['v1', 'v2']);
    assert.equal(some.combined.reachable, 'all');
  });

  it('a person reads a table per vantage and the combined verdict; without --vantage the single-checker output', async () => {
    const front = theFleet().frontUrl;
    const table = await porthole(env.lab, 'lan', ['check', '7002', '--checker', front, '--vantage', 'all'], 40_000);
    assert.equal(table.code, 1, table.stderr);
    assert.match(table.stdout, /v3 \(region ap\): answered/);
    assert.match(table.stdout, /7002\/tcp +Error +filtered/);
    assert.match(table.stdout, /Combined: reachable from some/);
    const single = await porthole(env.lab, 'lan', ['check', '7001', '--checker', front, '--json'], 40_000);
    assert.equal(single.code, 0, single.stderr);
    const body = JSON.parse(single.stdout) as { target: string; results: { state: string }[] };
    assert.equal(body.target, env.lab.addresses.publicIp);
    assert.deepEqual(
      body.results.map((r) => r.state),
      ['open'],
    );
  });

  it('a forged or tampered order on the subject is refused by the vantage and never probed', async () => {
    const f = theFleet();
    // The counts come from heartbeats: wait until they settle after the earlier tests' orders (bounded).
    let before = await probedCounts();
    for (let i = 0; i < 10; i++) {
      await sleep(600);
      const now = await probedCounts();
      if (JSON.stringify(now) === JSON.stringify(before)) break;
      before = now;
    }
    // The front's own NATS credentials, stolen: they may publish orders, but cannot sign them.
    const result = await f.exec(
      'v1',
      process.execPath,
      [
        '--import',
        'tsx',
        PEER,
        'forge',
        f.natsUrl,
        f.frontAuth,
        'porthole.check.region.us',
        f.signingKey,
        '198.51.100.2',
      ],
      { timeoutMs: 20_000, env: { NATS_CA: f.caFile } },
    );
    assert.equal(result.code, 0, result.stderr);
    const { replies } = JSON.parse(result.stdout) as {
      replies: { on: string; kind: string; error?: { code: string } }[];
    };
    assert.deepEqual(replies.map((r) => [r.on, r.kind, r.error?.code]).sort(), [
      ['forged', 'refused', 'E_FLEET_SIGNATURE'],
      ['tampered', 'refused', 'E_FLEET_SIGNATURE'],
    ]);
    await sleep(1200);
    assert.deepEqual(await probedCounts(), before);
    assert.match(f.log('v2'), /refused order \(unreadable\): E_FLEET_SIGNATURE/);
  });

  it("a vantage's credentials cannot publish an order; wrong credentials and an untrusted TLS server are refused", async () => {
    const f = theFleet();
    const host = f.vantages[1];
    assert.ok(host);
    const publish = await f.exec(
      'v2',
      process.execPath,
      ['--import', 'tsx', PEER, 'publish-order', f.natsUrl, host.authFile, 'porthole.check.region.eu'],
      { timeoutMs: 20_000, env: { NATS_CA: f.caFile } },
    );
    assert.equal(publish.code, 0, publish.stderr);
    assert.match(JSON.parse(publish.stdout).errors.join('\n'), /Permissions Violation for Publish/i);
    assert.match(f.log('nats-server'), /Publish Violation - User "v2", Subject "porthole\.check\.region\.eu"/);
    const wrong = await f.exec(
      'v2',
      process.execPath,
      [
        '--import',
        'tsx',
        fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url)),
        'serve',
        '--nats',
        f.natsUrl,
        '--nats-auth',
        f.wrongAuth,
        '--nats-ca',
        f.caFile,
        '--vantage',
        'intruder',
        '--front-key',
        `${f.signingKey}.pub`,
        '--json',
      ],
      { timeoutMs: 20_000 },
    );
    assert.equal(wrong.code, 3, wrong.stderr);
    assert.match(wrong.stdout, /E_FLEET_NATS/);
    assert.match(wrong.stdout, /Authorization Violation/i);
    // The right credentials without the lab's CA: the server's certificate is not trusted.
    const untrusted = await f.exec(
      'v2',
      process.execPath,
      ['--import', 'tsx', PEER, 'connect', f.natsUrl, host.authFile],
      { timeoutMs: 20_000, env: { NATS_CA: undefined } },
    );
    assert.equal(untrusted.code, 0, untrusted.stderr);
    const refused = JSON.parse(untrusted.stdout) as { ok: boolean; code: string; message: string };
    assert.equal(refused.ok, false);
    assert.equal(refused.code, 'E_FLEET_NATS');
    assert.match(refused.message, /certificate/i);
  });

  it('a vantage killed mid-check is unknown within the deadline, the others answer, and it answers again once back', async () => {
    const f = theFleet();
    const started = performance.now();
    // 7003 is not forwarded: every vantage waits its 2 s probe deadline (filtered).
    const acceptedBefore = f.log('v2').match(/accepted order/g)?.length ?? 0;
    const pending = check('7003', 'all', 1);
    // Mid-check: v2 has accepted the order and waits on its 2 s probe (bounded: 15 s).
    for (let i = 0; i < 300 && (f.log('v2').match(/accepted order/g)?.length ?? 0) === acceptedBefore; i++) {
      await sleep(50);
    }
    assert.ok((f.log('v2').match(/accepted order/g)?.length ?? 0) > acceptedBefore, 'v2 did not accept the order');
    await f.killVantage('v2');
    const body = await pending;
    const elapsed = performance.now() - started;
    const vantages = byName(body);
    assert.equal(vantages.v2?.state, 'unknown');
    assert.equal(vantages.v2?.reason, 'stalled');
    assert.ok((vantages.v2?.ms ?? Infinity) < 8000, `unknown after ${vantages.v2?.ms} ms`);
    assert.deepEqual(
      vantages.v1?.results.map((r) => r.state),
      ['filtered'],
    );
    assert.deepEqual(
      vantages.v3?.results.map((r) => r.state),
      ['filtered'],
    );
    assert.deepEqual(body.combined.unknown, ['v2']);
    assert.equal(body.combined.reachable, 'none');
    assert.ok(elapsed < 30_000);
    // The front stays up and answers from the others.
    const meanwhile = await check('7001', 'all', 1);
    assert.equal(byName(meanwhile).v2?.state, 'unknown');
    assert.deepEqual(meanwhile.combined.from.sort(), ['v1', 'v3']);
    // Back, without restarting the front.
    await f.startVantage('v2', vantageFlags);
    const again = await check('7001', 'all', 0);
    assert.equal(byName(again).v2?.state, 'answered');
    assert.equal(again.combined.reachable, 'all');
  });

  it('nats-server restarted mid-check: everyone reconnects, and each vantage probed the check exactly once', async () => {
    const f = theFleet();
    await sleep(1200);
    const before = await probedCounts();
    const accepted = () => f.vantages.map((v) => f.log(v.name).match(/accepted order/g)?.length ?? 0);
    const acceptedBefore = accepted();
    const pending = check('7003', 'all', 1);
    // Mid-check: every vantage has accepted the order and is waiting on its 2 s probe (bounded: 15 s).
    for (let i = 0; i < 300 && accepted().some((n, index) => n === acceptedBefore[index]); i++) await sleep(50);
    assert.ok(
      accepted().every((n, index) => n > (acceptedBefore[index] ?? 0)),
      'the vantages did not accept the order',
    );
    await f.killNats();
    await sleep(300);
    await f.startNats();
    const body = await pending;
    assert.deepEqual(body.vantages.map((v) => [v.name, v.state, v.results.map((r) => r.state)]).sort(), [
      ['v1', 'answered', ['filtered']],
      ['v2', 'answered', ['filtered']],
      ['v3', 'answered', ['filtered']],
    ]);
    // Heartbeats every 500 ms: wait for fresh ones after the restart.
    await sleep(1500);
    const afterwards = await probedCounts();
    for (const name of ['v1', 'v2', 'v3']) {
      assert.equal(afterwards[name], (before[name] ?? 0) + 1, `${name}: ${before[name]} → ${afterwards[name]}`);
    }
    const next = await check('7001', 'all', 0);
    assert.equal(next.combined.reachable, 'all');
    for (const v of f.vantages) assert.match(f.log(v.name), /disconnected from[\s\S]*reconnected to/, v.name);
  });

  it('vantages of one region share its orders (queue group): each order answered once, by one of them', async () => {
    const f = theFleet();
    await f.startVantage('v1', vantageFlags, 'v1b');
    try {
      const result = await f.exec(
        'v1',
        process.execPath,
        [
          '--import',
          'tsx',
          PEER,
          'share',
          f.natsUrl,
          f.frontAuth,
          'porthole.check.region.eu',
          f.signingKey,
          env.lab.addresses.publicIp,
        ],
        { timeoutMs: 30_000, env: { NATS_CA: f.caFile } },
      );
      assert.equal(result.code, 0, result.stderr);
      const { answers, orders } = JSON.parse(result.stdout) as { answers: Record<string, number>; orders: number };
      assert.deepEqual(Object.keys(answers).sort(), ['v1', 'v1b']);
      assert.equal((answers.v1 ?? 0) + (answers.v1b ?? 0), orders);
    } finally {
      await f.killVantage('v1b');
    }
  });

  it('the doctor through the front names the vantage a filter hides the port from, and its printed fix works', async () => {
    const front = theFleet().frontUrl;
    const doctor = async () => {
      const run = await porthole(env.lab, 'lan', ['doctor', '7002', '--checker', front, '--json'], 60_000);
      return JSON.parse(run.stdout) as {
        reachable: boolean;
        findings: { id: string; status: string; cause: string | null; fix: string | null; summary: string }[];
      };
    };
    const before = await doctor();
    const vantages = before.findings.find((f) => f.id === 'vantages');
    assert.equal(vantages?.status, 'warn', JSON.stringify(before.findings));
    assert.equal(vantages?.cause, 'upstream-filter');
    assert.match(vantages?.summary ?? '', /not from v3/);
    const fixes = fixCommands(vantages?.fix);
    assert.deepEqual(fixes, ['unmap 7002/tcp', 'map 7002/tcp --external 17002']);
    for (const fix of fixes) {
      const ran = await porthole(env.lab, 'lan', fix.split(' '));
      assert.equal(ran.code, 0, `${fix}: ${ran.stdout}${ran.stderr}`);
    }
    const after = await doctor();
    assert.equal(after.reachable, true, JSON.stringify(after.findings.filter((f) => f.status !== 'ok')));
    assert.equal(after.findings.find((f) => f.id === 'vantages')?.status, 'ok');
    assert.match(after.findings.find((f) => f.id === 'outside-in:7002/tcp')?.summary ?? '', /:17002\/tcp, proven/);
  });
});
