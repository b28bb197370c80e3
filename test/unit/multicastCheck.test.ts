/** Multicast checks: /proc/net/igmp parsers on captured text, and the three judgements, pure. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseProcNetIgmp, parseProcNetIgmp6 } from '../../src/discovery/igmp.js';
import { judgeAnnounce, judgeMembership, judgeMulticastFirewall } from '../../src/discovery/multicastCheck.js';
import type { DiscoveryAnswer } from '../../src/discovery/types.js';
import { modelFromIptablesSave } from '../../src/firewall/iptablesModel.js';
import { parseManifest } from '../../src/manifest/index.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/discovery/${name}`, import.meta.url), 'utf8');

const manifest = parseManifest(
  `name: media
ports:
  - name: mdns
    direction: multicast
    protocol: udp
    port: 5353
    group: 224.0.0.251
    announce: { mdns: _nx._tcp }
  - name: ws-discovery
    direction: multicast
    protocol: udp
    port: 3702
    group: 239.255.255.250
`,
  'media.yaml',
);
const [mdns, wsd] = manifest.entries;
if (!mdns || !wsd) throw new Error('manifest fixture');

function ruleset(saved: string) {
  const table = modelFromIptablesSave(saved, 4, 'iptables-legacy');
  if (!table) throw new Error('iptables-save text did not parse');
  return { tables: [table], sources: ['iptables-legacy-save'] };
}

describe('/proc/net/igmp parsers (captured in the lab)', () => {
  it('reads IPv4 groups in host byte order', () => {
    assert.deepEqual(parseProcNetIgmp(fixture('proc-net-igmp-lan2.txt'), true), [
      { interface: 'lo', group: '224.0.0.1', users: 1 },
      { interface: 'eth0', group: '224.0.0.251', users: 1 },
      { interface: 'eth0', group: '239.255.255.250', users: 3 },
      { interface: 'eth0', group: '224.0.0.1', users: 1 },
    ]);
    assert.equal(parseProcNetIgmp(fixture('proc-net-igmp-lan2.txt'), false)[1]?.group, '251.0.0.224');
  });

  it('reads IPv6 groups', () => {
    const groups = parseProcNetIgmp6(fixture('proc-net-igmp6-lan2.txt'));
    assert.ok(groups.some((m) => m.interface === 'eth0' && m.group === 'ff02::fb'));
    assert.ok(groups.some((m) => m.interface === 'eth0' && m.group === 'ff02::1:ff73:543a'));
    assert.equal(groups.length, 6);
  });
});

describe('the manifest accepts announce on multicast entries only', () => {
  it('keeps what a multicast entry announces', () => {
    assert.deepEqual(mdns.announce, { mdns: '_nx._tcp' });
    assert.equal(wsd.announce, undefined);
  });
  it('refuses announce elsewhere and malformed types', () => {
    assert.throws(
      () =>
        parseManifest(
          'name: x\nports:\n  - {name: a, direction: inbound, protocol: tcp, port: 80, announce: {mdns: _http._tcp}}\n',
        ),
      /only for multicast entries/,
    );
    assert.throws(
      () =>
        parseManifest(
          'name: x\nports:\n  - {name: a, direction: multicast, protocol: udp, port: 5353, group: 224.0.0.251, announce: {mdns: http}}\n',
        ),
      /DNS-SD service type/,
    );
  });
});

describe('multicast firewall judgement', () => {
  it('fails naming the rule that drops the group port', () => {
    const finding = judgeMulticastFirewall(
      mdns,
      ['eth0'],
      ruleset('*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p udp -m udp --dport 5353 -j DROP\nCOMMIT\n'),
      'media.yaml',
    );
    assert.equal(finding.status, 'fail');
    assert.match(finding.summary, /-A INPUT -p udp -m udp --dport 5353 -j DROP/);
    assert.match(finding.summary, /on eth0/);
    assert.match(finding.fix ?? '', /porthole firewall media\.yaml --target nftables --apply/);
  });

  it('judges by the group: an accept for it, or a drop of another group', () => {
    const accepted = judgeMulticastFirewall(
      mdns,
      ['eth0'],
      ruleset(
        '*filter\n:INPUT DROP [0:0]\n-A INPUT -d 224.0.0.251/32 -p udp -m udp --dport 5353 -j ACCEPT\n-A INPUT -j DROP\nCOMMIT\n',
      ),
    );
    assert.equal(accepted.status, 'ok', accepted.summary);
    const otherGroup = judgeMulticastFirewall(
      mdns,
      ['eth0'],
      ruleset('*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -d 239.255.255.250/32 -p udp -j DROP\nCOMMIT\n'),
    );
    assert.equal(otherGroup.status, 'ok', otherGroup.summary);
    const sameGroup = judgeMulticastFirewall(
      wsd,
      ['eth0'],
      ruleset('*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -d 239.255.255.250/32 -p udp -j DROP\nCOMMIT\n'),
    );
    assert.equal(sameGroup.status, 'fail');
  });
});

describe('membership judgement', () => {
  const memberships = parseProcNetIgmp(fixture('proc-net-igmp-lan2.txt'), true);
  it('is ok where the group is joined on every client-facing interface', () => {
    assert.equal(judgeMembership(mdns, ['eth0'], memberships).status, 'ok');
  });
  it('names the silent interface', () => {
    const finding = judgeMembership(mdns, ['eth0', 'eth1'], memberships);
    assert.equal(finding.status, 'fail');
    assert.match(finding.summary, /silent on eth1/);
    assert.match(finding.summary, /joined on eth0 only/);
  });
  it('fails when nothing joined the group', () => {
    const finding = judgeMembership(mdns, ['eth0'], []);
    assert.equal(finding.status, 'fail');
    assert.match(finding.summary, /not listening/);
  });
});

describe('announce judgement', () => {
  const answer = (iface: string): DiscoveryAnswer => ({
    protocol: 'mdns',
    name: 'Media',
    type: '_nx._tcp',
    address: '192.168.77.11',
    port: 7001,
    interface: iface,
    from: '192.168.77.11:5353',
    details: {},
  });
  it('skips an entry that names nothing, fails when nothing answers, names a silent interface', () => {
    assert.equal(judgeAnnounce(wsd, ['eth0'], new Map()).status, 'skip');
    assert.equal(judgeAnnounce(mdns, ['eth0'], new Map([['mdns', []]])).status, 'fail');
    assert.equal(judgeAnnounce(mdns, ['eth0'], new Map([['mdns', [answer('eth0')]]])).status, 'ok');
    const half = judgeAnnounce(mdns, ['eth0', 'eth1'], new Map([['mdns', [answer('eth0')]]]));
    assert.equal(half.status, 'fail');
    assert.match(half.summary, /nothing answered on eth1/);
  });
});
