import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { carrierRuleset, miniupnpdConfig, routerRuleset } from '../../lab/routerConfig.js';
import { resolveOptions } from '../../lab/topology.js';

/** The rules of one chain of a rendered ruleset, one per line (sets like `{ 80, 443 }` kept whole). */
function chainRules(ruleset: string, chain: string): string[] {
  const start = ruleset.indexOf(`chain ${chain} {`);
  assert.ok(start >= 0, `chain ${chain} exists`);
  let depth = 0;
  let end = start;
  for (let i = ruleset.indexOf('{', start); i < ruleset.length; i++) {
    if (ruleset[i] === '{') depth++;
    if (ruleset[i] === '}' && --depth === 0) {
      end = i;
      break;
    }
  }
  return ruleset
    .slice(ruleset.indexOf('{', start) + 1, end)
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('type ') && !line.startsWith('#'));
}

describe('lab router rulesets', () => {
  for (const inbound of ['drop', 'reject'] as const) {
    it(`every ${inbound} rule of the input chain applies to the WAN only (the LAN must reach miniupnpd)`, () => {
      const rules = chainRules(routerRuleset(resolveOptions({ topology: 'home', inbound })), 'input');
      const ending = rules.filter((rule) => /\b(drop|reject)\b/.test(rule));
      assert.ok(ending.length > 0);
      for (const rule of ending) assert.match(rule, /^iifname "wan0" /, rule);
    });
  }

  it('venue lets out exactly the configured ports and DNS to its resolver, and drops the rest', () => {
    const rules = chainRules(
      routerRuleset(resolveOptions({ topology: 'venue', egressTcpPorts: [80, 443, 745], egressUdpPorts: [4500] })),
      'forward',
    );
    assert.ok(rules.includes('iifname "br0" tcp dport { 80, 443, 745 } accept'));
    assert.ok(rules.includes('iifname "br0" udp dport { 4500 } accept'));
    assert.ok(rules.includes('iifname "br0" ip daddr 203.0.113.254 meta l4proto { tcp, udp } th dport 53 accept'));
    assert.ok(rules.includes('iifname "br0" drop'));
    assert.ok(!rules.includes('iifname "br0" accept'));
  });

  it('home lets everything out', () => {
    const rules = chainRules(routerRuleset(resolveOptions({ topology: 'home' })), 'forward');
    assert.ok(rules.includes('iifname "br0" accept'));
  });

  it('the carrier NAT masquerades and drops unsolicited inbound', () => {
    const ruleset = carrierRuleset();
    assert.ok(
      chainRules(ruleset, 'postrouting').includes('oifname "wan0" meta nfproto ipv4 masquerade'),
      'IPv4 only: IPv6 is routed natively',
    );
    assert.ok(chainRules(ruleset, 'input').includes('iifname "wan0" drop'));
  });

  it('miniupnpd config names our table and chains and follows the switches', () => {
    const config = miniupnpdConfig(resolveOptions({ topology: 'home', upnp: false }), 'uuid-1');
    for (const line of [
      'enable_upnp=no',
      'enable_natpmp=yes',
      'upnp_table_name=porthole_lab',
      'upnp_nat_chain=prerouting_miniupnpd',
      'ext_perform_stun=yes',
      'uuid=uuid-1',
    ]) {
      assert.ok(config.split('\n').includes(line), line);
    }
  });
});
