/**
 * The host firewall plan covers IPv6 in all six backends: a port opened for IPv4 only would leave
 * an IPv6 pinhole on the router leading to a host that still drops the traffic.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backends, type FIREWALL_TARGETS, planRules } from '../../src/firewall/index.js';
import { manifestFromPorts } from '../../src/manifest/index.js';

const plan = planRules(manifestFromPorts('7001,5800/udp'));
const text = (target: (typeof FIREWALL_TARGETS)[number]) =>
  backends[target]
    .render(plan)
    .map((file) => `==> ${file.name}\n${file.content}`)
    .join('\n');

describe('host firewall rules for IPv6, in all six backends', () => {
  it('every planned rule applies to both families', () => {
    assert.ok(plan.rules.length >= 2);
    for (const rule of plan.rules) assert.deepEqual([...rule.families].sort(), [4, 6]);
  });

  it('nftables: one inet table (both families), no IPv4-only match', () => {
    const out = text('nftables');
    assert.match(out, /table inet porthole_ports/);
    assert.match(out, /tcp dport 7001 accept/);
    assert.doesNotMatch(out, /nfproto ipv4|ip saddr|ip daddr/);
  });

  it('iptables: an ip6tables-restore file with the same rules as the IPv4 one', () => {
    const files = backends.iptables.render(plan);
    const v6 = files.find((file) => file.name.endsWith('.v6'));
    assert.ok(v6, files.map((f) => f.name).join(', '));
    assert.match(v6.content, /-p tcp --dport 7001 .*-j ACCEPT/);
    assert.match(v6.content, /-p udp --dport 5800 .*-j ACCEPT/);
  });

  it('ufw, firewalld and Windows: rules without an address family, which those firewalls apply to both', () => {
    assert.match(text('ufw'), /ufw allow in proto tcp from any to any port 7001/);
    assert.doesNotMatch(text('firewalld'), /family="ipv4"/);
    assert.match(text('firewalld'), /<port protocol="udp" port="5800"\/>/);
    assert.doesNotMatch(text('windows'), /RemoteAddress/);
    assert.match(text('windows'), /-Protocol TCP -LocalPort '7001'/);
  });

  it('pf: an inet6 rule beside every inet rule', () => {
    const out = text('pf');
    assert.match(out, /pass in quick inet6 proto tcp from any to any port 7001/);
    assert.match(out, /pass in quick inet6 proto udp from any to any port 5800/);
    assert.equal((out.match(/ inet6 /g) ?? []).length, (out.match(/ inet /g) ?? []).length);
  });
});
