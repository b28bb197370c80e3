/**
 * Egress through a transparent proxy: the venue lets out 80 and 443, and its router answers
 * every outbound connection on 745 itself (lab/venueProxy.ts). A handshake on 745 then proves
 * nothing, for a host that exists or not; the manifest's names are judged by the lab's DNS,
 * and its DNS need by resolving them through the resolver the network hands out.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import { PLAN } from '../../lab/topology.js';
import { startVenueDns } from '../../lab/venueDns.js';
import { startVenueProxy } from '../../lab/venueProxy.js';
import type { EgressReport } from '../../src/cli/commands/egress.js';
import { canaryAddress } from '../../src/egress/canary.js';
import { connect, labSkip, listen, porthole, startServe, useLab } from './support.js';

const LISTENER = PLAN.internetAlt;
const SERVICE = `http://${PLAN.internetHost}`;
/** An address on the lab's internet that no host has. */
const NOBODY = '203.0.113.99';

const MANIFEST = [
  'name: venue-appliance',
  'ports:',
  '  - name: server-pool',
  '    direction: outbound',
  '    protocol: tcp',
  '    port: 745',
  `    hosts: [svr1.example.net, svr2.example.net, svr9.example.net, ${NOBODY}]`,
  '  - name: vendor-web',
  '    direction: outbound',
  '    protocol: tcp',
  '    port: 80',
  '    hosts: [svr1.example.net]',
  '  - name: web',
  '    direction: outbound',
  '    protocol: tcp',
  '    port: 443',
  '  - name: dns',
  '    direction: outbound',
  '    protocol: tcp+udp',
  '    port: 53',
  '',
].join('\n');

describe('lab: egress through a venue proxy that answers every connection on 745', { skip: labSkip() }, () => {
  const env = useLab({
    topology: 'venue',
    egressTcpPorts: [80, 443],
    // svr1 is the vendor's real server; svr2 points at an address nothing serves; svr9 does not exist.
    dnsRecords: { 'svr1.example.net': PLAN.internetHost, 'svr2.example.net': NOBODY },
  });
  let file = '';
  before(async () => {
    await startServe(env.lab, 'checker', [
      '--listen',
      `${PLAN.internetHost}:80`,
      '--egress-address',
      LISTENER,
      '--egress-ports',
      '443,745,8080',
      '--data',
      `${env.lab.state.dir}/checker-data`,
      '--log-level',
      'silent',
    ]);
    // The same service on a port the venue drops, as a vendor that serves its checker on 8080.
    await startServe(env.lab, 'checker-8080', [
      '--listen',
      `${PLAN.internetHost}:8080`,
      '--data',
      `${env.lab.state.dir}/checker-8080-data`,
      '--log-level',
      'silent',
    ]);
    await listen(env.lab, 'internet', 745, 'vendor-745');
    await startVenueProxy(env.lab, 745);
    file = `${env.lab.state.dir}/appliance.yaml`;
    writeFileSync(file, MANIFEST);
  });

  it('the proxy is real: a documentation address, which nothing serves, "answers" on 745 from the LAN', async () => {
    const attempt = await connect(env.lab, 'lan', canaryAddress(4, 745), 745, 2);
    assert.equal(attempt.outcome, 'connected', attempt.detail);
    const elsewhere = await connect(env.lab, 'lan', canaryAddress(4, 80), 80, 1);
    assert.notEqual(elsewhere.outcome, 'connected', 'on 80 nothing answers for the canary');
  });

  it('745 is intercepted for every host (existing or not), a missing name is a DNS failure, 80/443 stay proven', async () => {
    const run = await porthole(env.lab, 'lan', ['egress', '--checker', SERVICE, '--manifest', file, '--json']);
    assert.equal(run.code, 1, `exit 1: the required pool is intercepted\n${run.stderr}`);
    const json = JSON.parse(run.stdout) as EgressReport;
    const pool = json.results.filter((r) => r.entry === 'server-pool');
    const row = (host: string) => pool.find((r) => r.host === host);
    for (const host of [PLAN.internetHost, NOBODY]) {
      assert.deepEqual([row(host)?.state, row(host)?.reason], ['intercepted', 'answers-for-anyone'], host);
    }
    assert.deepEqual([row('svr9.example.net')?.state, row('svr9.example.net')?.reason], ['untested', 'no-such-name']);
    assert.equal(json.names.find((n) => n.name === 'svr9.example.net')?.error?.code, 'ENOTFOUND');
    assert.ok(
      json.canaries.some((c) => c.port === 745 && c.state === 'allowed'),
      JSON.stringify(json.canaries),
    );
    // Where the network does not answer for anyone, a handshake stands, and the listener's signature is proof.
    const vendorWeb = json.results.find((r) => r.entry === 'vendor-web');
    assert.deepEqual([vendorWeb?.state, vendorWeb?.reason], ['allowed', 'handshake']);
    assert.equal(json.canaries.find((c) => c.port === 80)?.state, 'blocked');
    const web = json.results.find((r) => r.entry === 'web');
    assert.deepEqual([web?.host, web?.state, web?.reason], [LISTENER, 'allowed', 'signed']);
    // The DNS need: names resolve through the resolver the venue hands out (not "port 53 to the listener").
    const dns = json.results.filter((r) => r.entry === 'dns');
    assert.deepEqual(
      dns.map((r) => [r.protocol, r.host, r.state, r.reason]),
      [
        ['tcp', PLAN.internetHost, 'allowed', 'names-resolve'],
        ['udp', PLAN.internetHost, 'allowed', 'names-resolve'],
      ],
    );
    assert.ok(!json.results.some((r) => r.entry === 'server-pool' && r.state === 'allowed'), 'never allowed on 745');

    const human = await porthole(env.lab, 'lan', ['egress', '--checker', SERVICE, '--manifest', file]);
    assert.equal(human.code, 1);
    assert.match(human.stdout, /intercepted +server-pool → svr2\.example\.net \(203\.0\.113\.99\): 745\/tcp/);
    assert.match(human.stdout, /Answers for anyone: 192\.0\.2\.\d+:745 cannot answer/);
    assert.match(human.stdout, /DNS {2}svr9\.example\.net: no such name/);
    assert.match(human.stdout, /allowed +dns → the resolver 203\.0\.113\.254: 53\/tcp/);
  });

  it('without a checker, the pool and the DNS need are still judged (the DNS need needs no listener)', async () => {
    const only = `${env.lab.state.dir}/pool-only.yaml`;
    writeFileSync(
      only,
      MANIFEST.split('  - name: vendor-web')[0] +
        ['  - name: dns', '    direction: outbound', '    protocol: udp', '    port: 53', ''].join('\n'),
    );
    const run = await porthole(env.lab, 'lan', ['egress', '--manifest', only, '--json']);
    assert.equal(run.code, 1, run.stderr);
    const json = JSON.parse(run.stdout) as EgressReport;
    assert.equal(json.target, null);
    assert.deepEqual(
      json.results.filter((r) => r.entry === 'dns').map((r) => [r.state, r.reason]),
      [['allowed', 'names-resolve']],
    );
    assert.equal(json.summary.allowed, 1, 'only the DNS need is allowed');
  });

  it('a checker on a port the venue drops: exit 3 within seconds, and a hint to serve it on 443 or 80', async () => {
    const blocked = `http://${PLAN.internetHost}:8080`;
    const reachable = await connect(env.lab, 'internet', PLAN.internetHost, 8080, 1);
    assert.equal(reachable.outcome, 'connected', 'the checker runs on 8080; only the venue drops it');
    for (const args of [
      ['egress', '--checker', blocked, '--ports', '80,443'],
      ['check', '7001', '--checker', blocked],
    ]) {
      const started = performance.now();
      const run = await porthole(env.lab, 'lan', [...args, '--json']);
      const seconds = (performance.now() - started) / 1000;
      assert.equal(run.code, 3, `${args[0]}: ${run.stdout}${run.stderr}`);
      const { error } = JSON.parse(run.stdout) as { error: { code: string; message: string; hint: string } };
      assert.equal(error.code, 'E_CHECKER_UNREACHABLE');
      assert.match(error.message, /no answer to a connection on port 8080 in 3 s/);
      assert.match(error.hint, /the network may block port 8080 outbound; run the checker on 443 or 80/);
      assert.ok(seconds < 6, `${args[0]} answered in ${seconds.toFixed(1)} s (fetch alone waits 10 s)`);
    }
  });

  it('a venue DNS that answers every name: forged answers are DNS failures, the DNS need is intercepted', async () => {
    // Runs last: the interceptor changes every name's answer on the LAN until stopped.
    const dns = await startVenueDns(env.lab, '203.0.113.77', { 'svr1.example.net': PLAN.internetHost });
    try {
      const run = await porthole(env.lab, 'lan', ['egress', '--manifest', file, '--checker', SERVICE, '--json']);
      assert.equal(run.code, 1, run.stderr);
      const json = JSON.parse(run.stdout) as EgressReport;
      assert.deepEqual(json.dnsCanary?.addresses, ['203.0.113.77']);
      const names = Object.fromEntries(json.names.map((n) => [n.name, n]));
      assert.deepEqual(names['svr1.example.net']?.addresses, [PLAN.internetHost], 'a true answer stands');
      for (const name of ['svr2.example.net', 'svr9.example.net']) {
        assert.equal(names[name]?.error?.code, 'EFORGED', name);
        const rows = json.results.filter((r) => r.name === name);
        assert.deepEqual(
          rows.map((r) => [r.state, r.reason]),
          [['untested', 'forged-answer']],
          name,
        );
      }
      // svr1's true answer counts: the resolver does resolve names.
      assert.deepEqual(
        json.results.filter((r) => r.entry === 'dns').map((r) => [r.state, r.reason]),
        [
          ['allowed', 'names-resolve'],
          ['allowed', 'names-resolve'],
        ],
      );
      const forgedOnly = `${env.lab.state.dir}/forged-only.yaml`;
      writeFileSync(
        forgedOnly,
        [
          'name: forged-only',
          'ports:',
          '  - name: pool',
          '    direction: outbound',
          '    protocol: tcp',
          '    port: 745',
          '    hosts: [svr9.example.net]',
          '  - name: dns',
          '    direction: outbound',
          '    protocol: udp',
          '    port: 53',
          '',
        ].join('\n'),
      );
      const human = await porthole(env.lab, 'lan', ['egress', '--manifest', forgedOnly]);
      assert.equal(human.code, 1, human.stderr);
      assert.match(
        human.stdout,
        /the resolver answers for names that do not exist: porthole-canary-[0-9a-f]{8}\.example\.net → 203\.0\.113\.77/,
      );
      assert.match(human.stdout, /intercepted +dns → the resolver [\d.]+: 53\/udp +\(resolver-answers-for-anyone\)/);
    } finally {
      await dns.stop();
    }
  });
});
