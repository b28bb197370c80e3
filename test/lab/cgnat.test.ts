/** The cgnat topology: a router mapping cannot make a port reachable behind a carrier NAT. */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { addressSeenFrom, connect, labSkip, listen, natpmpcMap, useLab } from './support.js';

describe('lab: cgnat topology', { skip: labSkip() }, () => {
  const env = useLab({ topology: 'cgnat' });
  before(async () => {
    await listen(env.lab, 'lan', 7001, 'hello-from-lan');
  });

  it('the router WAN is in 100.64.0.0/10 and the internet sees the carrier public address', async () => {
    const { lab } = env;
    assert.equal(lab.addresses.routerWan, '100.64.0.2');
    assert.equal(await addressSeenFrom(lab, 'lan'), '203.0.113.2');
  });

  it("miniupnpd's STUN test finds the restrictive carrier NAT, and natpmpc's mapping is refused", async () => {
    const { lab } = env;
    assert.match(lab.log('miniupnpd'), /behind restrictive or symmetric NAT with public IP address 203\.0\.113\.2/);
    const mapped = await natpmpcMap(lab, 7001);
    assert.doesNotMatch(mapped.stdout, /Mapped public port/);
    assert.match(mapped.stdout + mapped.stderr, /network failure|FAILED/);
  });

  it('even a forward configured on the router by hand does not make the port reachable from the internet', async () => {
    const { lab } = env;
    const manual = [
      'add rule inet porthole_lab prerouting_miniupnpd iifname "wan0" tcp dport 7001 dnat ip to 192.168.77.10:7001',
      'add rule inet porthole_lab miniupnpd iifname "wan0" ip daddr 192.168.77.10 tcp dport 7001 accept',
    ].join('\n');
    const added = await lab.exec('router', 'nft', ['-f', '-'], { input: manual });
    assert.equal(added.code, 0, added.stderr);
    // The forward itself works from the carrier's side...
    const fromCarrier = await connect(lab, 'carrier', lab.addresses.routerWan, 7001);
    assert.equal(fromCarrier.outcome, 'connected', fromCarrier.detail);
    assert.equal(fromCarrier.data, 'hello-from-lan');
    // ...but the internet reaches only the carrier's public address, which forwards nothing.
    const fromInternet = await connect(lab, 'internet', lab.addresses.publicIp, 7001);
    assert.equal(fromInternet.outcome, 'timeout', fromInternet.detail);
  });
});
