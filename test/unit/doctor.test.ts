/**
 * The doctor's judgement, purely: facts in, findings out. Each cause is produced by its own
 * facts, the outside-in failure names the finding that explains it, and nothing else fails.
 * Also the /proc/net parser the listener check reads.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { diagnosisPasses, checklistText as doctorHuman } from '../../src/cli/checklist.js';
import { Output } from '../../src/cli/output.js';
import type { Facts, PortFacts, Step } from '../../src/doctor/facts.js';
import { judge } from '../../src/doctor/judge.js';
import { parseProcNet } from '../../src/host/linuxListeners.js';
import { decodeProcAddress } from '../../src/host/linuxProcNet.js';

const ok = <T>(value: T): Step<T> => ({ ok: true, value, ms: 1 });
const LAN = '192.168.1.10';
const plainOutput = new Output({
  stdout: process.stdout,
  stderr: process.stderr,
  env: { NO_COLOR: '1' },
  json: false,
  verbose: false,
});

function port(overrides: Partial<PortFacts> = {}): PortFacts {
  return {
    entry: 'web',
    protocol: 'tcp',
    port: 7001,
    listeners: ok([{ protocol: 'tcp', address: '0.0.0.0', port: 7001, process: { pid: 9, name: 'server' } }]),
    firewall: ok({
      firewall: 'nftables',
      verdict: 'accept',
      certain: true,
      reason: 'allowed',
      summary: 'the host firewall accepts 7001/tcp',
      evidence: ['packet: inbound tcp/7001'],
    }),
    outside: ok({
      externalPort: 7001,
      target: '198.51.100.7',
      ownListener: false,
      result: {
        port: 7001,
        protocol: 'tcp',
        state: 'open',
        reason: 'syn-ack',
        ms: 1,
        verified: true,
        verifiedBy: 'connection',
        source: { address: '203.0.113.254', port: 40000 },
      },
      identity: { seen: true, evidence: "the checker's connection from 203.0.113.254:40000 arrived at this host" },
    }),
    hairpin: { ok: 'skipped', why: 'test', ms: 0 },
    ...overrides,
  };
}

function facts(overrides: Partial<Facts> = {}, portOverrides: Partial<PortFacts> = {}): Facts {
  return {
    manifest: '7001',
    ports: [port(portOverrides)],
    gateway: ok({
      address: '192.168.1.1',
      interface: 'eth0',
      internalAddress: LAN,
      protocols: ['upnp'],
      externalIp: '198.51.100.7',
      ms: 1,
      warnings: [],
    }),
    mappings: ok([
      {
        protocol: 'tcp',
        externalPort: 7001,
        internalAddress: LAN,
        internalPort: 7001,
        description: '',
        lifetime: 0,
        enabled: true,
        source: 'router',
        mine: true,
        porthole: false,
        live: true,
      },
    ]),
    nat: { ok: 'skipped', why: 'test', ms: 0 },
    name: { ok: 'skipped', why: 'test', ms: 0 },
    egress: { ok: 'skipped', why: 'test', ms: 0 },
    multicast: { ok: 'skipped', why: 'test', ms: 0 },
    checker: 'http://checker.test',
    ...overrides,
  };
}

const failing = (report: ReturnType<typeof judge>) =>
  report.findings
    .filter((f) => f.status === 'fail')
    .map((f) => `${f.id}=${f.cause}`)
    .sort();

describe('doctor judgement', () => {
  it('all well: reachable, nothing fails, the public address from the outside-in probe', () => {
    const report = judge(facts(), '7001');
    assert.equal(report.reachable, true);
    assert.deepEqual(failing(report), []);
    assert.equal(report.publicAddress, '198.51.100.7');
  });

  it('a server on loopback only is its own cause', () => {
    const report = judge(
      facts({}, { listeners: ok([{ protocol: 'tcp', address: '127.0.0.1', port: 7001, inode: 1 }]) }),
      '7001',
    );
    assert.deepEqual(failing(report), ['listener:7001/tcp=listens-on-loopback']);
    assert.equal(report.reachable, false);
  });

  it('a mapping to another host names that host and the router setting', () => {
    const report = judge(
      facts(
        {
          mappings: ok([
            {
              protocol: 'tcp',
              externalPort: 7001,
              internalAddress: '192.168.1.99',
              internalPort: 7001,
              description: '',
              lifetime: 0,
              enabled: true,
              source: 'router',
              mine: false,
              porthole: false,
              live: true,
            },
          ]),
        },
        {
          outside: ok({
            externalPort: 7001,
            target: '198.51.100.7',
            ownListener: false,
            result: { port: 7001, protocol: 'tcp', state: 'closed', reason: 'conn-refused', ms: 1, verified: null },
            identity: { seen: null, evidence: 'not an open TCP port' },
          }),
        },
      ),
      '7001',
    );
    assert.deepEqual(failing(report), [
      'mapping:7001/tcp=mapping-wrong-host',
      'outside-in:7001/tcp=mapping-wrong-host',
    ]);
    assert.match(report.findings.find((f) => f.id === 'mapping:7001/tcp')?.fix ?? '', /It now goes to 192\.168\.1\.99/);
  });

  it('a forward the router does not list counts once the outside-in check reached this host', () => {
    const report = judge(
      facts({
        mappings: ok([]),
        gateway: ok({
          address: '192.168.1.1',
          interface: 'eth0',
          internalAddress: LAN,
          protocols: [],
          externalIp: undefined,
          ms: 1,
          warnings: [],
        }),
      }),
      '7001',
    );
    assert.equal(report.findings.find((f) => f.id === 'mapping:7001/tcp')?.status, 'ok');
    assert.equal(report.reachable, true);
  });

  it('every hop right, the router lists the forward, but filtered from outside: listed is not applied (a router firewall), with a fix a person can apply', () => {
    const report = judge(
      facts(
        {},
        {
          outside: ok({
            externalPort: 7001,
            target: '198.51.100.7',
            ownListener: false,
            result: { port: 7001, protocol: 'tcp', state: 'filtered', reason: 'no-response', ms: 1500, verified: null },
            identity: { seen: null, evidence: 'not an open TCP port' },
          }),
        },
      ),
      '7001',
    );
    assert.deepEqual(failing(report), [
      'mapping:7001/tcp=forward-not-applied',
      'outside-in:7001/tcp=forward-not-applied',
    ]);
    const mapping = report.findings.find((f) => f.id === 'mapping:7001/tcp');
    assert.match(
      mapping?.summary ?? '',
      /the router lists the forward but traffic does not arrive: a router firewall or a broken UPnP implementation/,
    );
    assert.match(mapping?.fix ?? '', /SPI firewall/);
    // An ISP's filter looks the same from here: the fix's last step tells them apart.
    assert.match(mapping?.fix ?? '', /--external 17001/);
    assert.ok(mapping?.evidence.some((line) => /filtered/.test(line)));
  });

  it('a DNS name pointing elsewhere fails with the record to set; without a checker nothing is claimed reachable', () => {
    const report = judge(
      facts(
        { name: ok({ name: 'media.example.net', addresses: ['192.0.2.50'], ms: 2 }) },
        { outside: { ok: 'skipped', why: 'no checker', ms: 0 } },
      ),
      '7001',
    );
    assert.deepEqual(failing(report), ['dns=dns-mismatch']);
    assert.equal(report.reachable, false);
    assert.equal(report.findings.find((f) => f.id === 'outside-in:7001/tcp')?.status, 'skip');
  });
});

describe('doctor judgement: the inbound verdict stands apart from the other needs', () => {
  it('a blocked LAN multicast group fails its own finding; the proven road stays reachable, the diagnosis fails', () => {
    const report = judge(
      facts({
        multicast: ok([
          {
            id: 'multicast-firewall:discovery',
            status: 'fail',
            summary: 'the host firewall drops 239.255.255.250:1900/udp',
            evidence: ['read from nft list ruleset'],
            fix: 'porthole firewall discovery --target nftables --apply',
          },
        ]),
      }),
      '7001',
    );
    assert.equal(report.reachable, true);
    assert.deepEqual(failing(report), ['multicast-firewall:discovery=host-firewall']);
    assert.equal(diagnosisPasses(report, 1), false);
    const human = doctorHuman(plainOutput, 'porthole doctor 7001:', { ...report, ms: 10 });
    assert.match(
      human,
      /Reachable at 198\.51\.100\.7, proven\. Other needs fail: multicast-firewall:discovery \(host-firewall\)\./,
    );
    assert.doesNotMatch(human, /Not reachable/);
  });

  it('a failing hop on the inbound road still denies reachable', () => {
    const report = judge(facts({}, { listeners: ok([]) }), '7001');
    assert.equal(report.reachable, false);
    assert.equal(diagnosisPasses(report, 1), false);
    assert.match(doctorHuman(plainOutput, 'x', { ...report, ms: 10 }), /Not reachable/);
  });

  it('no ports and nothing failing passes; no ports and a failing need does not', () => {
    const none = judge({ ...facts(), ports: [] }, '');
    assert.equal(diagnosisPasses(none, 0), true);
    const name = judge(
      { ...facts({ name: ok({ name: 'media.example.net', addresses: ['192.0.2.50'], ms: 2 }) }), ports: [] },
      '',
    );
    assert.equal(diagnosisPasses(name, 0), false);
  });
});

describe('doctor judgement: verdicts state their proof', () => {
  const outsideWith = (
    state: 'open' | 'closed' | 'filtered',
    verified: boolean | null,
    identity: { seen: boolean | null; evidence: string },
  ) =>
    ok({
      externalPort: 7001,
      target: '198.51.100.7',
      ownListener: false,
      result: { port: 7001, protocol: 'tcp' as const, state, reason: 'x', ms: 1, verified },
      identity: identity as { seen: true; evidence: string },
    });

  it('open without proof of identity is "not proven" (warn), never reachable', () => {
    const report = judge(
      facts({}, { outside: outsideWith('open', null, { seen: null, evidence: 'no /proc' }) }),
      '7001',
    );
    const outside = report.findings.find((f) => f.id === 'outside-in:7001/tcp');
    assert.equal(outside?.status, 'warn');
    assert.match(outside?.summary ?? '', /not proven to reach this computer/);
    assert.equal(outside?.cause, 'not-proven');
    assert.match(outside?.fix ?? '', /porthole check 7001\/tcp --listen/);
    assert.equal(report.reachable, false);
  });

  it("open, but the checker's connection is not among this host's sockets: another device answers", () => {
    const report = judge(
      facts({}, { outside: outsideWith('open', null, { seen: false, evidence: 'not among this host’s sockets' }) }),
      '7001',
    );
    const outside = report.findings.find((f) => f.id === 'outside-in:7001/tcp');
    assert.equal(outside?.status, 'warn');
    assert.equal(outside?.cause, 'mapping-wrong-host');
    assert.equal(report.reachable, false);
  });

  it('a forward the router does not list is not believed without proof', () => {
    const report = judge(
      facts({ mappings: ok([]) }, { outside: outsideWith('open', null, { seen: null, evidence: 'unknown' }) }),
      '7001',
    );
    assert.notEqual(report.findings.find((f) => f.id === 'mapping:7001/tcp')?.status, 'ok');
  });

  it('a refusal from outside through a forward the router lists: an answer on the path, and the listing is not called ok', () => {
    const report = judge(facts({}, { outside: outsideWith('closed', null, { seen: null, evidence: '' }) }), '7001');
    assert.deepEqual(failing(report), ['outside-in:7001/tcp=refused-on-path']);
    const mapping = report.findings.find((f) => f.id === 'mapping:7001/tcp');
    assert.equal(mapping?.status, 'warn');
    assert.match(mapping?.summary ?? '', /listed is not proof that it is applied/);
  });

  it('a stale record (the router no longer has it) is not a mapping', () => {
    const report = judge(
      facts(
        {
          mappings: ok([
            {
              protocol: 'tcp',
              externalPort: 7001,
              internalAddress: LAN,
              internalPort: 7001,
              description: '',
              lifetime: 60,
              enabled: true,
              source: "porthole's record (pcp)",
              mine: true,
              porthole: true,
              live: false,
              note: 'the router did not confirm it',
            },
          ]),
        },
        { outside: outsideWith('filtered', null, { seen: null, evidence: '' }) },
      ),
      '7001',
    );
    assert.deepEqual(failing(report), ['mapping:7001/tcp=no-mapping', 'outside-in:7001/tcp=no-mapping']);
    assert.match(report.findings.find((f) => f.id === 'mapping:7001/tcp')?.evidence.join(' ') ?? '', /STALE/);
  });

  it('double NAT names the outer router by address in the fix', () => {
    const nat = ok({
      publicIp: '198.51.100.7',
      sightings: [],
      agreed: true,
      mapping: null,
      filtering: null,
      portPreserved: null,
      hairpinning: null,
      cgnat: false,
      doubleNat: true,
      noNat: false,
      ipv6: { globalAddress: undefined },
      path: [
        { ttl: 1, address: '192.168.77.1', class: 'private' as const },
        { ttl: 2, address: '192.168.1.1', class: 'private' as const },
      ],
      evidence: ['hop 2 on the way out is 192.168.1.1, a private address: a second router after the first'],
      summary: 'Behind two NATs',
      skipped: [],
      stun: undefined,
      gateway: undefined,
    });
    const report = judge(
      facts({ nat, mappings: ok([]) }, { outside: outsideWith('filtered', null, { seen: null, evidence: '' }) }),
      '7001',
    );
    assert.deepEqual(failing(report), ['mapping:7001/tcp=double-nat', 'outside-in:7001/tcp=double-nat']);
    assert.match(report.findings.find((f) => f.id === 'mapping:7001/tcp')?.fix ?? '', /router at 192\.168\.1\.1/);
  });
});

describe('/proc/net parsing', () => {
  it('finds LISTEN sockets on a port and decodes their addresses', () => {
    const text = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 00000000:1B59 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0 100 0 0 10 0',
      '   1: 0100007F:1B5A 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4243 1 0 100 0 0 10 0',
      '   2: 0A4DA8C0:1B59 0100A8C0:D431 01 00000000:00000000 00:00000000 00000000     0        0 4244 1 0 100 0 0 10 0',
    ].join('\n');
    assert.deepEqual(parseProcNet(text, 'tcp', 7001), [
      { protocol: 'tcp', address: '0.0.0.0', port: 7001, inode: 4242 },
    ]);
    assert.deepEqual(parseProcNet(text, 'tcp', 7002), [
      { protocol: 'tcp', address: '127.0.0.1', port: 7002, inode: 4243 },
    ]);
    assert.equal(decodeProcAddress('00000000000000000000000001000000'), '::1');
  });
});

describe('doctor judgement: a fleet of vantages', () => {
  it('vantages that disagree are an upstream filter on some paths, named', () => {
    const report = judge(
      facts({
        vantages: {
          reachable: 'some',
          from: ['v1', 'v2'],
          notFrom: ['v3'],
          unknown: [],
          disagree: true,
          ports: [{ port: 7001, protocol: 'tcp', reachable: 'some', from: ['v1', 'v2'], notFrom: ['v3'], states: {} }],
          summary: 'reachable from some: 7001/tcp not from v3',
        } as unknown as NonNullable<Facts['vantages']>,
      }),
      '7001',
    );
    const vantages = report.findings.find((f) => f.id === 'vantages');
    assert.equal(vantages?.status, 'warn');
    assert.equal(vantages?.cause, 'upstream-filter');
    assert.match(vantages?.fix ?? '', /from v3/);
  });
});

describe('doctor judgement: multicast entries', () => {
  it("the discovery module's multicast findings join the checklist; a firewall drop is the host-firewall cause", () => {
    const report = judge(
      facts({
        multicast: ok([
          {
            id: 'multicast-firewall:mdns:5353/udp',
            status: 'fail' as const,
            summary: 'the host firewall drops 5353/udp to 224.0.0.251',
            evidence: ['"udp dport 5353 drop" in inet filter input'],
            fix: 'nft insert rule inet filter input ip daddr 224.0.0.251 udp dport 5353 accept',
          },
        ]),
      }),
      '7001',
    );
    const multicast = report.findings.find((f) => f.id.startsWith('multicast-firewall'));
    assert.equal(multicast?.status, 'fail');
    assert.equal(multicast?.cause, 'host-firewall');
    assert.match(multicast?.fix ?? '', /nft insert rule/);
  });
});
