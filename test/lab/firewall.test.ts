/**
 * Host firewall in the lab: `porthole firewall --apply` opens exactly the manifest's inbound
 * ports on a default-drop host, `--remove` restores the ruleset byte for byte, and
 * `--inspect` agrees with what nmap sees on every case.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { Lab } from '../../lab/lab.js';
import { labSkip, listen, nmapStates, porthole, useLab } from './support.js';

/** The LAN host's own firewall before each case: drop by default, like a locked-down server. */
const DEFAULT_DROP = `flush ruleset
table inet filter {
  chain input {
    type filter hook input priority filter; policy drop;
    ct state established,related accept
    iif "lo" accept
  }
}
`;

async function loadRuleset(lab: Lab, ruleset: string): Promise<void> {
  const loaded = await lab.exec('lan', 'nft', ['-f', '-'], { input: ruleset });
  assert.equal(loaded.code, 0, loaded.stderr);
}

async function listRuleset(lab: Lab): Promise<string> {
  return (await lab.exec('lan', 'nft', ['list', 'ruleset'])).stdout;
}

describe('lab: porthole firewall --apply / --remove on a default-drop host', { skip: labSkip() }, () => {
  const env = useLab({ topology: 'home', upnp: false, natpmp: false });
  const probePorts = '7001,7002,8080,5353,22';
  before(async () => {
    for (const port of [7001, 7002, 8080, 22]) await listen(env.lab, 'lan', port, `lan-${port}`);
    await loadRuleset(env.lab, DEFAULT_DROP);
  });

  it('before: every port is filtered', async () => {
    const states = await nmapStates(env.lab, 'router', env.lab.addresses.lan, probePorts);
    for (const port of [7001, 7002, 8080, 22]) assert.equal(states.get(port), 'filtered', `port ${port}`);
  });

  it('after --apply of the media-server example, nmap finds exactly its inbound TCP port open; --remove restores the ruleset byte for byte', async () => {
    const { lab } = env;
    const before = await listRuleset(lab);
    const applied = await porthole(lab, 'lan', [
      'firewall',
      'examples/media-server.yaml',
      '--target',
      'nftables',
      '--apply',
      '--json',
    ]);
    assert.equal(applied.code, 0, applied.stdout + applied.stderr);
    const result = JSON.parse(applied.stdout) as { applied: { table: string; integrated: { chain: string }[] } };
    assert.equal(result.applied.table, 'inet porthole_media_server');
    assert.deepEqual(
      result.applied.integrated.map((chain) => chain.chain),
      ['inet filter input'],
    );

    const states = await nmapStates(lab, 'router', lab.addresses.lan, probePorts);
    const open = [...states].filter(([, state]) => state === 'open').map(([port]) => port);
    assert.deepEqual(open, [7001]);

    // Applying again changes nothing.
    const once = await listRuleset(lab);
    const again = await porthole(lab, 'lan', [
      'firewall',
      'examples/media-server.yaml',
      '--target',
      'nftables',
      '--apply',
    ]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(await listRuleset(lab), once);

    const removed = await porthole(lab, 'lan', [
      'firewall',
      'examples/media-server.yaml',
      '--target',
      'nftables',
      '--remove',
      '--json',
    ]);
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(await listRuleset(lab), before);
    assert.equal((await nmapStates(lab, 'router', lab.addresses.lan, '7001')).get(7001), 'filtered');
  });

  it('a bad manifest is refused with exit 2 and its location, and nothing is applied', async () => {
    const { lab } = env;
    const before = await listRuleset(lab);
    const refused = await porthole(lab, 'lan', [
      'firewall',
      'test/fixtures/manifests/unknown-direction.yaml',
      '--target',
      'nftables',
      '--apply',
    ]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /unknown-direction\.yaml:6:16: ports\[0\]\.direction/);
    assert.equal(await listRuleset(lab), before);
  });
});

interface InspectCase {
  readonly name: string;
  readonly setup: string[];
  readonly expected: 'accept' | 'drop' | 'reject';
}

const BASE = ['flush ruleset'];
const CASES: readonly InspectCase[] = [
  { name: 'no ruleset at all', setup: BASE, expected: 'accept' },
  {
    name: 'policy drop',
    setup: [...BASE, 'table inet filter { chain input { type filter hook input priority filter; policy drop; }; }'],
    expected: 'drop',
  },
  {
    name: 'policy drop with an accept for the port',
    setup: [
      ...BASE,
      'table inet filter { chain input { type filter hook input priority filter; policy drop; tcp dport 7001 accept; }; }',
    ],
    expected: 'accept',
  },
  {
    name: 'an explicit drop',
    setup: [
      ...BASE,
      'table inet filter { chain input { type filter hook input priority filter; tcp dport 7001 drop; }; }',
    ],
    expected: 'drop',
  },
  {
    name: 'a reject with tcp reset',
    setup: [
      ...BASE,
      'table inet filter { chain input { type filter hook input priority filter; tcp dport 7001 reject with tcp reset; }; }',
    ],
    expected: 'reject',
  },
  {
    name: 'a port range in a set',
    setup: [
      ...BASE,
      'table inet filter { chain input { type filter hook input priority filter; policy drop; tcp dport { 22, 7000-7010 } accept; }; }',
    ],
    expected: 'accept',
  },
  {
    name: 'an accept for another interface only',
    setup: [
      ...BASE,
      'table inet filter { chain input { type filter hook input priority filter; policy drop; iifname "eth9" tcp dport 7001 accept; }; }',
    ],
    expected: 'drop',
  },
  {
    name: 'an accept for the arriving interface',
    setup: [
      ...BASE,
      'table inet filter { chain input { type filter hook input priority filter; policy drop; iifname "eth0" tcp dport 7001 accept; }; }',
    ],
    expected: 'accept',
  },
  {
    name: "one table accepts, another's policy drops (drop wins)",
    setup: [
      ...BASE,
      'table inet a { chain input { type filter hook input priority -10; tcp dport 7001 accept; }; }',
      'table inet b { chain input { type filter hook input priority 0; policy drop; }; }',
    ],
    expected: 'drop',
  },
  {
    name: 'an accept in a jumped-to chain',
    setup: [
      ...BASE,
      'table inet filter { chain allow { tcp dport 7001 accept; }; chain input { type filter hook input priority filter; policy drop; jump allow; }; }',
    ],
    expected: 'accept',
  },
];

/** Cases made with iptables itself (iptables-nft, Debian 12's default). */
const IPTABLES_CASES: readonly { name: string; commands: string[][]; expected: 'accept' | 'drop' | 'reject' }[] = [
  {
    name: 'iptables-nft: policy DROP with a multiport ACCEPT',
    commands: [
      ['-P', 'INPUT', 'DROP'],
      ['-A', 'INPUT', '-p', 'tcp', '-m', 'multiport', '--dports', '7000,7001', '-j', 'ACCEPT'],
    ],
    expected: 'accept',
  },
  {
    name: 'iptables-nft: a REJECT for the port',
    commands: [
      [
        '-A',
        'INPUT',
        '-p',
        'tcp',
        '--dport',
        '7001',
        '-m',
        'conntrack',
        '--ctstate',
        'NEW',
        '-j',
        'REJECT',
        '--reject-with',
        'tcp-reset',
      ],
    ],
    expected: 'reject',
  },
];

const NMAP_FOR: Record<string, string> = { accept: 'open', drop: 'filtered', reject: 'closed' };

describe('lab: firewall --inspect agrees with reality', { skip: labSkip() }, () => {
  const env = useLab({ topology: 'home', upnp: false, natpmp: false });
  before(async () => {
    await listen(env.lab, 'lan', 7001, 'lan-7001');
  });

  async function check(name: string, expected: string): Promise<void> {
    const { lab } = env;
    const inspected = await porthole(lab, 'lan', ['firewall', '7001', '--inspect', '--json']);
    const answer = JSON.parse(inspected.stdout) as {
      results: { verdict: string; certain: boolean; decidedBy?: { rule: string } }[];
    };
    const [result] = answer.results;
    const seen = (await nmapStates(lab, 'router', lab.addresses.lan, '7001')).get(7001);
    assert.equal(result?.verdict, expected, `${name}: inspect said ${result?.verdict} (${result?.decidedBy?.rule})`);
    assert.equal(seen, NMAP_FOR[expected], `${name}: nmap saw ${seen}`);
    assert.equal(result?.certain, true, name);
    assert.equal(inspected.code, expected === 'accept' ? 0 : 1);
  }

  for (const testCase of CASES) {
    it(testCase.name, async () => {
      await loadRuleset(env.lab, `${testCase.setup.join('\n')}\n`);
      await check(testCase.name, testCase.expected);
    });
  }

  for (const testCase of IPTABLES_CASES) {
    it(testCase.name, async () => {
      await loadRuleset(env.lab, 'flush ruleset\n');
      for (const command of testCase.commands) {
        const done = await env.lab.exec('lan', 'iptables', command);
        assert.equal(done.code, 0, done.stderr);
      }
      await check(testCase.name, testCase.expected);
    });
  }

  it('a reject with ICMP admin-prohibited: porthole probe says unreachable (host-unreach), nmap -sT filtered', async () => {
    // Linux reports admin-prohibited to connect() as EHOSTUNREACH, like host-unreachable (docs/cli.md).
    await loadRuleset(
      env.lab,
      'flush ruleset\ntable inet filter { chain input { type filter hook input priority filter; tcp dport 7001 reject with icmp type admin-prohibited; }; }\n',
    );
    const probed = await porthole(env.lab, 'router', ['probe', env.lab.addresses.lan, '7001', '--json']);
    const [result] = (JSON.parse(probed.stdout) as { results: { state: string; reason: string }[] }).results;
    assert.deepEqual([result?.state, result?.reason], ['unreachable', 'host-unreach']);
    assert.equal((await nmapStates(env.lab, 'router', env.lab.addresses.lan, '7001')).get(7001), 'filtered');
  });

  it('names the deciding rule as the firewall prints it', async () => {
    await loadRuleset(env.lab, `${CASES[4]?.setup.join('\n')}\n`);
    const inspected = await porthole(env.lab, 'lan', ['firewall', '7001', '--inspect']);
    assert.match(inspected.stdout, /tcp\/7001\s+reject by inet filter input: tcp dport 7001 reject with tcp reset/);
  });
});
