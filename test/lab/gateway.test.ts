/**
 * Router mapping in the lab, against the real miniupnpd: the compliance suite for all three
 * protocols, and porthole's own command line checked with upnpc, natpmpc and connections from
 * the internet namespace.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  connect,
  labSkip,
  listen,
  porthole,
  startPorthole,
  useLab,
  waitForLogLine,
  waitForPublicPort,
} from './support.js';

const SUITE = fileURLToPath(new URL('./fixtures/mappingCompliance.ts', import.meta.url));

describe('lab: router mapping on a home router with UPnP IGD, NAT-PMP and PCP', { skip: labSkip() }, () => {
  const env = useLab({ topology: 'home' });
  before(async () => {
    await listen(env.lab, 'lan', 7001, 'hello-7001');
    await listen(env.lab, 'lan', 20570, 'hello-20570');
  });

  it('the three clients pass the one compliance suite', async () => {
    const result = await env.lab.exec(
      'lan',
      process.execPath,
      ['--import', 'tsx', '--test', '--test-reporter=spec', SUITE],
      {
        timeoutMs: 120_000,
        // Without NODE_TEST_CONTEXT the suite runs as a run of its own, not as a child of ours.
        env: {
          METHODS: 'upnp,natpmp,pcp',
          EXPECTED_EXTERNAL_IP: env.lab.addresses.publicIp,
          NODE_TEST_CONTEXT: undefined,
        },
      },
    );
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /mapping compliance: pcp/);
    assert.match(result.stdout, /ℹ pass 12\n/);
    assert.match(result.stdout, /ℹ fail 0\n/);
  });

  it('porthole gateway finds upnp, natpmp and pcp and the external address', async () => {
    const result = await porthole(env.lab, 'lan', ['gateway', '--json']);
    assert.equal(result.code, 0, result.stderr);
    const [gateway] = (
      JSON.parse(result.stdout) as { gateways: { address: string; protocols: string[]; externalIp: string }[] }
    ).gateways;
    assert.deepEqual(gateway?.protocols, ['upnp', 'natpmp', 'pcp']);
    assert.equal(gateway?.externalIp, env.lab.addresses.publicIp);
  });

  it('porthole map 7001 makes it reachable from the internet, upnpc -u lists it, porthole unmap closes it again', async () => {
    const { lab } = env;
    assert.equal((await connect(lab, 'internet', lab.addresses.publicIp, 7001)).outcome, 'timeout');
    const mapped = await porthole(lab, 'lan', ['map', '7001', '--json']);
    assert.equal(mapped.code, 0, `${mapped.stdout}${mapped.stderr}\n${lab.log('miniupnpd').slice(-1500)}`);
    assert.equal((JSON.parse(mapped.stdout) as { externalPort: number }).externalPort, 7001);
    const through = await connect(lab, 'internet', lab.addresses.publicIp, 7001);
    assert.deepEqual([through.outcome, through.data], ['connected', 'hello-7001']);
    const listed = await lab.exec('lan', 'upnpc', ['-u', lab.addresses.igdDescriptionUrl, '-l']);
    assert.match(listed.stdout, /TCP\s+7001->192\.168\.77\.10:7001/);
    const unmapped = await porthole(lab, 'lan', ['unmap', '7001', '--json']);
    assert.equal(unmapped.code, 0, unmapped.stdout + unmapped.stderr);
    assert.equal((JSON.parse(unmapped.stdout) as { removed: unknown[] }).removed.length, 1);
    assert.equal((await connect(lab, 'internet', lab.addresses.publicIp, 7001)).outcome, 'timeout');
  });

  it('a port another LAN host holds: a range request gets the next free port and says which was taken', async () => {
    const { lab } = env;
    const other = await lab.exec('lan2', 'natpmpc', [
      '-g',
      lab.addresses.routerLan,
      '-a',
      '20570',
      '20570',
      'tcp',
      '600',
    ]);
    assert.match(other.stdout, /Mapped public port 20570/);
    const mapped = await porthole(lab, 'lan', ['map', '20570', '--external', '20570-20575', '--json']);
    assert.equal(mapped.code, 0, mapped.stderr);
    const mapping = JSON.parse(mapped.stdout) as { externalPort: number; skipped: { port: number; why: string }[] };
    assert.equal(mapping.externalPort, 20571);
    assert.deepEqual(
      mapping.skipped.map((s) => s.port),
      [20570],
    );
    const through = await connect(lab, 'internet', lab.addresses.publicIp, 20571);
    assert.equal(through.data, 'hello-20570');
    await porthole(lab, 'lan', ['unmap', '20570']);
  });

  // NAT-PMP here: miniupnpd grants it the 6 s lease asked for (PCP gets at least 120 s), and its
  // epoch is what tells a restart apart from a renewal.
  it('map --keep re-makes the mapping after a router restart within one renewal, and Ctrl-C removes it', async () => {
    const { lab } = env;
    const pid = startPorthole(lab, 'lan', 'keeper', ['map', '7001', '--lease', '6', '--via', 'natpmp', '--keep']);
    assert.ok(await waitForPublicPort(lab, 7001, true, 10), `mapped by the keeper:\n${lab.log('keeper')}`);
    await lab.restartRouterDaemon();
    // The restarted miniupnpd has no mappings and announces its start (PCP ANNOUNCE to 224.0.0.1:5350):
    // the keeper renews at once and sees the epoch start again. Back within 3 s (the renewal interval
    // of the 6 s lease is the fallback), plus slack for the probe.
    assert.ok(await waitForPublicPort(lab, 7001, true, 6), `re-made after the restart:\n${lab.log('keeper')}`);
    // The router installs the rule just before its answer reaches the keeper, which then says so.
    assert.ok(await waitForLogLine(lab, 'keeper', /router-restarted|remade/, 3), lab.log('keeper'));
    process.kill(pid, 'SIGINT');
    assert.ok(await waitForPublicPort(lab, 7001, false, 6), `removed on Ctrl-C:\n${lab.log('keeper')}`);
    assert.ok(await waitForLogLine(lab, 'keeper', /removed/, 3), lab.log('keeper'));
    const listed = await lab.exec('lan', 'upnpc', ['-u', lab.addresses.igdDescriptionUrl, '-l']);
    assert.doesNotMatch(listed.stdout, /7001->192\.168\.77\.10:7001/);
  });
});

describe('lab: mapping with UPnP off, and with NAT-PMP/PCP off', { skip: labSkip() }, () => {
  const noUpnp = useLab({ topology: 'home', upnp: false });
  const noNatpmp = useLab({ topology: 'home', natpmp: false });

  it('UPnP off: porthole maps with PCP', async () => {
    const mapped = await porthole(noUpnp.lab, 'lan', ['map', '7001', '--json']);
    assert.equal(mapped.code, 0, mapped.stderr);
    assert.equal((JSON.parse(mapped.stdout) as { method: string }).method, 'pcp');
  });

  it('NAT-PMP and PCP off: porthole maps with UPnP, and the internet reaches the listener', async () => {
    const { lab } = noNatpmp;
    await listen(lab, 'lan', 7001, 'via-upnp');
    const mapped = await porthole(lab, 'lan', ['map', '7001', '--json']);
    assert.equal(mapped.code, 0, mapped.stderr);
    assert.equal((JSON.parse(mapped.stdout) as { method: string }).method, 'upnp');
    assert.equal((await connect(lab, 'internet', lab.addresses.publicIp, 7001)).data, 'via-upnp');
  });
});
