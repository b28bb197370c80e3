/** The home topology with real peers: natpmpc and upnpc map through miniupnpd; inbound policy holds. */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { addressSeenFrom, connect, labSkip, listen, natpmpcMap, nmapStates, useLab } from './support.js';

describe('lab: home topology', { skip: labSkip() }, () => {
  const env = useLab({ topology: 'home' });
  before(async () => {
    await listen(env.lab, 'lan', 7001, 'hello-from-lan');
    await listen(env.lab, 'lan', 7002, 'hello-via-upnp');
  });

  it("miniupnpd's STUN test found the full-cone 1:1 path and enabled forwarding", () => {
    assert.match(env.lab.log('miniupnpd'), /Port forwarding is now enabled/);
  });

  it('an unmapped port is dropped at the router (timeout), as nmap -sT sees it', async () => {
    const attempt = await connect(env.lab, 'internet', env.lab.addresses.publicIp, 7001);
    assert.equal(attempt.outcome, 'timeout', attempt.detail);
    const states = await nmapStates(env.lab, 'internet', env.lab.addresses.publicIp, '7001');
    assert.equal(states.get(7001), 'filtered');
  });

  it('natpmpc maps 7001 and the internet host reaches the LAN listener through the WAN address', async () => {
    const mapped = await natpmpcMap(env.lab, 7001, 120);
    assert.equal(mapped.code, 0, mapped.stdout + mapped.stderr);
    assert.match(mapped.stdout, /Mapped public port 7001 protocol TCP to local port 7001/);
    assert.match(mapped.stdout, new RegExp(`Public IP address : ${env.lab.addresses.publicIp.replaceAll('.', '\\.')}`));
    const attempt = await connect(env.lab, 'internet', env.lab.addresses.publicIp, 7001);
    assert.equal(attempt.outcome, 'connected', attempt.detail);
    assert.equal(attempt.data, 'hello-from-lan');
  });

  it('upnpc -u maps external 17002 to LAN 7002, lists it, and the internet host reaches it', async () => {
    const url = env.lab.addresses.igdDescriptionUrl;
    const added = await env.lab.exec('lan', 'upnpc', [
      '-u',
      url,
      '-e',
      'lab-test',
      '-a',
      env.lab.addresses.lan,
      '7002',
      '17002',
      'TCP',
    ]);
    assert.match(added.stdout, /external 203\.0\.113\.1:17002 TCP is redirected to internal 192\.168\.77\.10:7002/);
    const listed = await env.lab.exec('lan', 'upnpc', ['-u', url, '-l']);
    assert.match(listed.stdout, /TCP\s+17002->192\.168\.77\.10:7002\s+'lab-test'/);
    const attempt = await connect(env.lab, 'internet', env.lab.addresses.publicIp, 17002);
    assert.equal(attempt.outcome, 'connected', attempt.detail);
    assert.equal(attempt.data, 'hello-via-upnp');
  });

  it('removing the mapping (upnpc -d) makes the port unreachable again', async () => {
    const removed = await env.lab.exec('lan', 'upnpc', [
      '-u',
      env.lab.addresses.igdDescriptionUrl,
      '-d',
      '17002',
      'TCP',
    ]);
    assert.match(removed.stdout + removed.stderr, /UPNP_DeletePortMapping\(\) returned : 0/);
    const attempt = await connect(env.lab, 'internet', env.lab.addresses.publicIp, 17002);
    assert.equal(attempt.outcome, 'timeout', attempt.detail);
  });

  it('a router reboot (restartRouterDaemon) loses the mappings, as a real router does', async () => {
    await env.lab.restartRouterDaemon();
    const attempt = await connect(env.lab, 'internet', env.lab.addresses.publicIp, 7001);
    assert.equal(attempt.outcome, 'timeout', attempt.detail);
    const again = await natpmpcMap(env.lab, 7001, 60);
    assert.equal(again.code, 0, again.stdout);
    assert.equal((await connect(env.lab, 'internet', env.lab.addresses.publicIp, 7001)).outcome, 'connected');
  });

  it('the LAN reaches the internet through the NAT, seen as the public address', async () => {
    assert.equal(await addressSeenFrom(env.lab, 'lan'), env.lab.addresses.publicIp);
  });
});

describe('lab: home topology with inbound reject and UPnP off', { skip: labSkip() }, () => {
  const env = useLab({ topology: 'home', inbound: 'reject', upnp: false });

  it('an unmapped port is refused (RST), not dropped', async () => {
    const attempt = await connect(env.lab, 'internet', env.lab.addresses.publicIp, 7001);
    assert.equal(attempt.outcome, 'refused', attempt.detail);
  });

  it('UPnP is off: no IGD answers, while NAT-PMP still maps', async () => {
    const igd = await env.lab.exec('lan', 'upnpc', ['-u', env.lab.addresses.igdDescriptionUrl, '-s'], {
      timeoutMs: 10_000,
    });
    assert.doesNotMatch(igd.stdout, /ExternalIPAddress = /);
    const mapped = await natpmpcMap(env.lab, 7001, 60);
    assert.match(mapped.stdout, /Mapped public port 7001/);
  });
});

describe('lab: home topology with NAT-PMP/PCP off', { skip: labSkip() }, () => {
  const env = useLab({ topology: 'home', natpmp: false });

  it('natpmpc gets no answer while UPnP still maps', async () => {
    const natpmp = await env.lab.exec('lan', 'natpmpc', ['-g', env.lab.addresses.routerLan], { timeoutMs: 15_000 });
    assert.doesNotMatch(natpmp.stdout, /Public IP address :/);
    const added = await env.lab.exec('lan', 'upnpc', [
      '-u',
      env.lab.addresses.igdDescriptionUrl,
      '-a',
      env.lab.addresses.lan,
      '7001',
      '7001',
      'TCP',
    ]);
    assert.match(added.stdout, /is redirected to internal 192\.168\.77\.10:7001/);
  });
});
