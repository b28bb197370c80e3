/**
 * The judgement of handshake-only verdicts by canaries, and of the manifest's DNS need by
 * resolution: pure functions, no packets (a canary dialled from here would leave the machine;
 * the lab test dials them inside the lab).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ANSWERS_FOR_ANYONE, canaryAddress, canaryTargets, judgeByCanaries } from '../../src/egress/canary.js';
import {
  canaryName,
  FORGED_ANSWER,
  isResolverNeed,
  judgeNamesByCanary,
  judgeResolverNeed,
  type NameResolution,
  needsService,
  planForManifest,
} from '../../src/egress/plan.js';
import type { EgressResult } from '../../src/egress/sweep.js';
import { parseManifest } from '../../src/manifest/index.js';
import { cidrContains, parseCidr, parseIp } from '../../src/net/address.js';

function result(host: string, port: number, state: EgressResult['state'], reason: string): EgressResult {
  return { host, port, protocol: 'tcp', state, reason, ms: 1, attempts: 1 };
}

describe('egress canaries', () => {
  it('the canary is a documentation address, fixed for a port, and never one a target named', () => {
    const v4 = canaryAddress(4, 745);
    assert.ok(cidrContains(parseCidr('192.0.2.0/24'), parseIp(v4)), v4);
    assert.equal(canaryAddress(4, 745), v4, 'deterministic');
    assert.notEqual(canaryAddress(4, 746), v4, 'varies with the port');
    assert.notEqual(canaryAddress(4, 745, [v4]), v4);
    // A range this network uses (a lab, a test network) is passed over: something may answer there.
    assert.match(canaryAddress(4, 745, ['192.0.2.77']), /^198\.51\.100\.\d+$/);
    assert.match(canaryAddress(4, 745, ['192.0.2.77', '198.51.100.1']), /^203\.0\.113\.\d+$/);
    assert.match(canaryAddress(6, 745, ['2001:db8:ca::1', '192.0.2.1']), /^2001:db8:cb::/);
    const v6 = canaryAddress(6, 745);
    assert.ok(cidrContains(parseCidr('2001:db8::/32'), parseIp(v6)), v6);
  });

  it('one canary per family and TCP port of handshake-only targets; none for the listener or UDP', () => {
    const canaries = canaryTargets([
      { host: '203.0.113.5', entries: [{ protocol: 'tcp', port: 745 }], handshake: 'connect' },
      {
        host: '203.0.113.6',
        entries: [
          { protocol: 'tcp', port: 745 },
          { protocol: 'udp', port: 4500 },
        ],
        handshake: 'connect',
      },
      { host: '2001:db8::5', entries: [{ protocol: 'tcp', port: 745 }], handshake: 'connect' },
      { host: '203.0.113.7', entries: [{ protocol: 'tcp', port: 443 }], handshake: 'banner' },
    ]);
    assert.deepEqual(
      canaries.map((c) => [c.host, c.entries, c.handshake, c.canary]),
      [
        [canaryAddress(4, 745), [{ protocol: 'tcp', port: 745 }], 'connect', true],
        [canaryAddress(6, 745), [{ protocol: 'tcp', port: 745 }], 'connect', true],
      ],
    );
  });

  it('a handshake stands only when the canary on its port was not answered', () => {
    const judged = judgeByCanaries(
      [
        result('203.0.113.5', 745, 'allowed', 'handshake'),
        result('203.0.113.5', 80, 'allowed', 'handshake'),
        result('203.0.113.5', 8443, 'allowed', 'handshake'),
        result('203.0.113.5', 22, 'blocked', 'timeout'),
        result('203.0.113.7', 443, 'allowed', 'signed'),
      ],
      [
        result(canaryAddress(4, 745), 745, 'allowed', 'handshake'),
        result(canaryAddress(4, 80), 80, 'blocked', 'timeout'),
        result(canaryAddress(4, 22), 22, 'allowed', 'handshake'),
      ],
    );
    assert.deepEqual(
      judged.map((r) => [r.port, r.state, r.reason]),
      [
        [745, 'intercepted', ANSWERS_FOR_ANYONE],
        [80, 'allowed', 'handshake'],
        [8443, 'untested', 'canary-untested'],
        [22, 'blocked', 'timeout'],
        [443, 'allowed', 'signed'],
      ],
    );
  });

  it('an IPv6 handshake is judged by the IPv6 canary only', () => {
    const judged = judgeByCanaries(
      [result('2001:db8::5', 745, 'allowed', 'handshake')],
      [
        result(canaryAddress(4, 745), 745, 'allowed', 'handshake'),
        result(canaryAddress(6, 745), 745, 'blocked', 'unreachable'),
      ],
    );
    assert.deepEqual([judged[0]?.state, judged[0]?.reason], ['allowed', 'handshake']);
  });
});

describe("the manifest's DNS need", () => {
  const manifest = parseManifest(
    [
      'name: appliance',
      'ports:',
      '  - name: pool',
      '    direction: outbound',
      '    protocol: tcp',
      '    port: 745',
      '    hosts: [203.0.113.5]',
      '  - name: dns',
      '    direction: outbound',
      '    protocol: tcp+udp',
      '    port: 53',
      '  - name: dns-server',
      '    direction: outbound',
      '    protocol: udp',
      '    port: 53',
      '    hosts: [203.0.113.53]',
      '',
    ].join('\n'),
  );
  const [pool, dns, dnsServer] = manifest.entries;

  it('is an outbound entry to port 53 alone without hosts; it needs no listener', () => {
    assert.deepEqual(
      manifest.entries.map((entry) => isResolverNeed(entry)),
      [false, true, false],
    );
    assert.equal(needsService(manifest.entries), false);
    assert.ok(pool && dns && dnsServer);
  });

  const name = (text: string, addresses: string[], code?: string): NameResolution => ({
    name: text,
    addresses,
    ms: 3,
    ...(code ? { error: { code, message: code } } : {}),
  });

  it('is judged by the names resolved: answered, silent, or nothing to ask', () => {
    const judge = (names: NameResolution[]) =>
      judgeResolverNeed(dns as NonNullable<typeof dns>, names, '192.168.1.1').map((r) => [
        r.protocol,
        r.host,
        r.state,
        r.reason,
      ]);
    assert.deepEqual(judge([name('svr1.example.net', ['203.0.113.5']), name('svr9.example.net', [], 'ENOTFOUND')]), [
      ['tcp', '192.168.1.1', 'allowed', 'names-resolve'],
      ['udp', '192.168.1.1', 'allowed', 'names-resolve'],
    ]);
    assert.deepEqual(
      judge([name('svr9.example.net', [], 'ENOTFOUND')]).map((r) => r.slice(2)),
      [
        ['allowed', 'resolver-answers'],
        ['allowed', 'resolver-answers'],
      ],
    );
    assert.deepEqual(
      judge([name('svr1.example.net', [], 'EAI_AGAIN'), name('svr2.example.net', [], 'ETIMEOUT')]).map((r) =>
        r.slice(2),
      ),
      [
        ['blocked', 'resolver-silent'],
        ['blocked', 'resolver-silent'],
      ],
    );
    assert.deepEqual(
      judge([]).map((r) => r.slice(2)),
      [
        ['untested', 'no-names-to-resolve'],
        ['untested', 'no-names-to-resolve'],
      ],
    );
  });

  it('a plan without names leaves the DNS need untested, never tested against a listener', async () => {
    const plan = await planForManifest(manifest.entries, {
      host: '198.51.100.9',
      tcp: [{ protocol: 'tcp', start: 1, end: 65535 }],
      udp: [{ protocol: 'udp', start: 1, end: 65535 }],
    });
    assert.deepEqual(
      plan.targets.map((t) => [t.host, t.entry, t.handshake]),
      [
        ['203.0.113.5', 'pool', 'connect'],
        ['203.0.113.53', 'dns-server', 'connect'],
      ],
    );
    assert.deepEqual(
      plan.untested.filter((r) => r.entry === 'dns').map((r) => [r.protocol, r.state, r.reason]),
      [
        ['tcp', 'untested', 'no-names-to-resolve'],
        ['udp', 'untested', 'no-names-to-resolve'],
      ],
    );
  });

  it('a made-up name in the same zone, new each run', () => {
    const first = canaryName('svr1.example.net');
    assert.match(first, /^porthole-canary-[0-9a-f]{8}\.example\.net$/);
    assert.notEqual(canaryName('svr1.example.net'), first);
    assert.match(canaryName('example.net'), /^porthole-canary-[0-9a-f]{8}\.example\.net$/);
  });

  it("answers the made-up name got too are forged; the resolver's only answers forged: intercepted", () => {
    const canary = name('porthole-canary-00000000.example.net', ['203.0.113.77']);
    const judged = judgeNamesByCanary(
      [
        name('svr1.example.net', ['203.0.113.5']),
        name('svr2.example.net', ['203.0.113.77']),
        name('svr3.example.net', ['203.0.113.77', '203.0.113.6']),
        name('svr9.example.net', [], 'ENOTFOUND'),
      ],
      canary,
    );
    assert.deepEqual(
      judged.map((n) => [n.name, n.addresses, n.error?.code]),
      [
        ['svr1.example.net', ['203.0.113.5'], undefined],
        ['svr2.example.net', [], FORGED_ANSWER],
        ['svr3.example.net', ['203.0.113.77', '203.0.113.6'], undefined],
        ['svr9.example.net', [], 'ENOTFOUND'],
      ],
    );
    assert.deepEqual(judgeNamesByCanary(judged, name('porthole-canary-1.example.net', [], 'ENOTFOUND')), judged);
    const need = dns as NonNullable<typeof dns>;
    assert.deepEqual(
      judgeResolverNeed(need, [judged[1] as NameResolution], '192.168.1.1').map((r) => [r.state, r.reason]),
      [
        ['intercepted', 'resolver-answers-for-anyone'],
        ['intercepted', 'resolver-answers-for-anyone'],
      ],
    );
    assert.deepEqual(
      judgeResolverNeed(need, judged, '192.168.1.1').map((r) => [r.state, r.reason]),
      [
        ['allowed', 'names-resolve'],
        ['allowed', 'names-resolve'],
      ],
    );
  });
});
