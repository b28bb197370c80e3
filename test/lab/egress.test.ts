/**
 * Egress in the lab: a venue that lets out only 80, 443 and 745 (TCP) and 4500 (UDP), the
 * porthole service on the internet host with its egress listener on every port of a second
 * address, a DNS server for the appliance's pool names, and a venue whose router answers every
 * port itself (a captive portal).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type ScratchNamespace, startScratchNamespace } from '../../lab/lab.js';
import { PLAN } from '../../lab/topology.js';
import type { EgressReport } from '../../src/cli/commands/egress.js';
import { sleep } from '../../src/deadline/index.js';
import { labSkip, listen, nmapStates, porthole, startServe, useLab } from './support.js';

const PAGE = fileURLToPath(new URL('./fixtures/pageEgress.ts', import.meta.url));
const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const LISTENER = PLAN.internetAlt;
const SERVICE = `http://${PLAN.internetHost}`;

function parse(stdout: string): EgressReport {
  return JSON.parse(stdout) as EgressReport;
}

function portsIn(json: EgressReport, state: string, protocol = 'tcp'): number[] {
  return json.results.filter((r) => r.state === state && r.protocol === protocol).map((r) => r.port);
}

async function serveEgress(env: { readonly lab: import('../../lab/lab.js').Lab }): Promise<void> {
  // The service on :80 (a port the venue lets out), its egress listener on every port of the
  // second address: one socket per transport and an nftables redirect.
  await startServe(env.lab, 'checker', [
    '--listen',
    `${PLAN.internetHost}:80`,
    '--egress-address',
    LISTENER,
    '--egress-ports',
    '1-65535',
    '--egress-udp-ports',
    '4500,5060',
    '--data',
    `${env.lab.state.dir}/checker-data`,
    '--log-level',
    'silent',
  ]);
}

describe('lab: egress from a venue letting out 80, 443 and 745', { skip: labSkip() }, () => {
  const env = useLab({
    topology: 'venue',
    egressTcpPorts: [80, 443, 745],
    egressUdpPorts: [4500],
    dnsRecords: { 'svr1.example.net': PLAN.internetHost, 'svr2.example.net': PLAN.internetHost },
  });
  before(async () => {
    await serveEgress(env);
    // The vendor's pool server, a plain TCP service on the first address.
    await listen(env.lab, 'internet', 745, 'vendor-745');
  });

  it('a full 1-65535 sweep finds exactly 80, 443 and 745 allowed, and nmap -sT the same open set', async () => {
    const run = await porthole(
      env.lab,
      'lan',
      ['egress', '--target', LISTENER, '--ports', '1-65535', '--json'],
      240_000,
    );
    assert.equal(run.code, 1, run.stderr);
    const json = parse(run.stdout);
    assert.deepEqual(portsIn(json, 'allowed'), [80, 443, 745]);
    assert.equal(json.summary.blocked, 65532);
    assert.equal(json.summary.intercepted, 0);
    assert.ok(json.results.filter((r) => r.state === 'blocked').every((r) => r.reason === 'timeout'));
    const nmap = await nmapStates(env.lab, 'lan', LISTENER, '1-65535', { timing: '-T4', timeoutMs: 240_000 });
    const open = [...nmap].filter(([, state]) => state === 'open').map(([port]) => port);
    assert.deepEqual(open, [80, 443, 745], 'nmap -sT from the same namespace');
  });

  it('with --checker the answers are verified against the service key, TCP and UDP', async () => {
    const run = await porthole(env.lab, 'lan', [
      'egress',
      '--checker',
      SERVICE,
      '--ports',
      '80,443,745,8080,22,4500/udp,5060/udp,9999/udp',
      '--json',
    ]);
    assert.equal(run.code, 1, run.stderr);
    const json = parse(run.stdout);
    assert.equal(json.target, LISTENER);
    assert.equal(json.signed, true);
    const by = (port: number, protocol = 'tcp') => json.results.find((r) => r.port === port && r.protocol === protocol);
    for (const port of [80, 443, 745]) assert.deepEqual([by(port)?.state, by(port)?.reason], ['allowed', 'signed']);
    for (const port of [8080, 22]) assert.deepEqual([by(port)?.state, by(port)?.reason], ['blocked', 'timeout']);
    assert.deepEqual([by(4500, 'udp')?.state, by(4500, 'udp')?.reason], ['allowed', 'signed']);
    assert.deepEqual([by(5060, 'udp')?.state, by(5060, 'udp')?.reason], ['blocked', 'timeout']);
    assert.deepEqual([by(9999, 'udp')?.state, by(9999, 'udp')?.reason], ['untested', 'not-served']);
  });

  it("a manifest's hosts are resolved through the lab's DNS; an unknown name is a DNS failure", async () => {
    const file = `${env.lab.state.dir}/appliance.yaml`;
    writeFileSync(
      file,
      [
        'name: venue-appliance',
        'ports:',
        '  - name: server-pool',
        '    direction: outbound',
        '    protocol: tcp',
        '    port: 745',
        '    hosts: [svr1.example.net, svr2.example.net, svr9.example.net]',
        '  - name: web',
        '    direction: outbound',
        '    protocol: tcp',
        '    port: 443',
        '  - name: updates',
        '    direction: outbound',
        '    protocol: tcp',
        '    port: 8443',
        '    hosts: [svr1.example.net]',
        '',
      ].join('\n'),
    );
    const run = await porthole(env.lab, 'lan', ['egress', '--checker', SERVICE, '--manifest', file, '--json']);
    assert.equal(run.code, 1, run.stderr);
    const json = parse(run.stdout);
    const names = Object.fromEntries(json.names.map((n) => [n.name, n]));
    assert.deepEqual(names['svr1.example.net']?.addresses, [PLAN.internetHost]);
    assert.deepEqual(names['svr2.example.net']?.addresses, [PLAN.internetHost]);
    assert.equal(names['svr9.example.net']?.error?.code, 'ENOTFOUND');
    const pool = json.results.filter((r) => r.entry === 'server-pool');
    assert.deepEqual(
      pool.map((r) => [r.name, r.host, r.port, r.state, r.reason]),
      [
        ['svr1.example.net', PLAN.internetHost, 745, 'allowed', 'handshake'],
        ['svr2.example.net', PLAN.internetHost, 745, 'allowed', 'handshake'],
        ['svr9.example.net', 'svr9.example.net', 745, 'untested', 'no-such-name'],
      ],
    );
    // The handshakes stand because the canary on 745 got no answer: this venue lets 745 out as sent.
    assert.deepEqual(
      json.canaries.map((c) => [c.port, c.state]),
      [
        [745, 'blocked'],
        [8443, 'blocked'],
      ],
    );
    const web = json.results.find((r) => r.entry === 'web');
    assert.deepEqual([web?.host, web?.state, web?.reason], [LISTENER, 'allowed', 'signed']);
    const updates = json.results.find((r) => r.entry === 'updates');
    assert.deepEqual([updates?.state, updates?.reason], ['blocked', 'timeout']);
    const human = await porthole(env.lab, 'lan', ['egress', '--checker', SERVICE, '--manifest', file]);
    assert.match(human.stdout, /DNS {2}svr9\.example\.net: no such name/);
  });

  it('the /egress page in Chromium: starts on the button, takes the visitor’s own ports, shows progress, ends in seconds, in plain words', async (t) => {
    const shot = `${process.env.PORTHOLE_SCREENSHOTS ?? env.lab.state.dir}/egress-page.png`;
    const result = await env.lab.exec(
      'lan',
      process.execPath,
      ['--import', 'tsx', PAGE, `${SERVICE}/egress`, shot, '7001, 5655'],
      { timeoutMs: 90_000 },
    );
    assert.equal(result.code, 0, result.stderr);
    const seen = JSON.parse(result.stdout) as {
      rows: { port: number; state: string; reason: string; own: boolean; text: string }[];
      address: string;
      rowsBeforeStart: number;
      inputProblem: string;
      progressSeen: string;
      seconds: number;
      summary: string;
      pageText: string;
    };
    const row = (port: number) => seen.rows.find((r) => r.port === port);
    assert.equal(seen.rowsBeforeStart, 0, 'nothing is tested before the button');
    assert.match(seen.inputProblem, /"port" is not a port number/);
    assert.match(seen.progressSeen, /Testing…|Tested \d+ of \d+ ports/);
    assert.equal(seen.address, LISTENER);
    for (const port of [80, 443, 745]) {
      assert.deepEqual([row(port)?.state, row(port)?.reason], ['reachable', 'signed'], row(port)?.text);
      assert.match(row(port)?.text ?? '', /OpenOur test server answered/);
    }
    for (const port of [7001, 5655]) {
      assert.equal(row(port)?.own, true);
      assert.deepEqual([row(port)?.state, row(port)?.reason], ['blocked', 'timeout'], row(port)?.text);
      assert.match(row(port)?.text ?? '', /your portBlockedNo answer within 2\.5 seconds/);
    }
    assert.equal(row(8080)?.state, 'blocked', row(8080)?.text);
    assert.equal(row(25)?.state, 'untestable', 'browsers refuse port 25 everywhere: not called blocked');
    assert.match(row(25)?.text ?? '', /Cannot be tested from a browser/);
    assert.match(seen.summary, /^3 open, \d+ blocked, 0 answered by something else/);
    assert.doesNotMatch(seen.pageText, /seed|egress listener|nonce|syn-ack|intercepted/i, 'no internal words');
    // All ports at once with 2.5 s deadlines (it took ~19 s with one 4 s deadline after another).
    t.diagnostic(`the page's test of ${seen.rows.length} ports took ${seen.seconds.toFixed(1)} s`);
    assert.ok(seen.seconds < 8, `the test took ${seen.seconds.toFixed(1)} s`);
  });
});

describe('lab: a venue whose router answers every other port itself (captive portal)', { skip: labSkip() }, () => {
  const env = useLab({ topology: 'venue', egressTcpPorts: [80, 443, 745], intercept: true });
  before(async () => serveEgress(env));

  it('the portal is reported intercepted, not allowed, where nmap -sT sees open ports', async () => {
    const run = await porthole(env.lab, 'lan', [
      'egress',
      '--checker',
      SERVICE,
      '--ports',
      '80,443,745,8080,22,1000-1100',
      '--json',
    ]);
    assert.equal(run.code, 1, run.stderr);
    const json = parse(run.stdout);
    assert.deepEqual(portsIn(json, 'allowed'), [80, 443, 745]);
    assert.equal(json.summary.intercepted, 103);
    assert.ok(json.results.filter((r) => r.state === 'intercepted').every((r) => r.reason === 'foreign-answer'));
    const nmap = await nmapStates(env.lab, 'lan', LISTENER, '8080,22');
    assert.equal(nmap.get(8080), 'open', 'a connect scan cannot tell the portal from the server');
    assert.equal(nmap.get(22), 'open');
  });

  it('a manifest host behind the portal is intercepted (the canary answered too), never allowed by its handshake', async () => {
    const file = `${env.lab.state.dir}/portal.yaml`;
    writeFileSync(
      file,
      [
        'name: behind-portal',
        'ports:',
        '  - name: updates',
        '    direction: outbound',
        '    protocol: tcp',
        '    port: [8443, 443]',
        '    hosts: [203.0.113.99]',
        '',
      ].join('\n'),
    );
    const run = await porthole(env.lab, 'lan', ['egress', '--manifest', file, '--json']);
    assert.equal(run.code, 1, run.stderr);
    const json = parse(run.stdout);
    assert.deepEqual(
      json.results.map((r) => [r.port, r.state, r.state === 'blocked' ? '' : r.reason]),
      [
        [443, 'blocked', ''],
        [8443, 'intercepted', 'answers-for-anyone'],
      ],
    );
  });

  it('the /egress page in Chromium never calls the portal open: turned away, in words that say so', async () => {
    const result = await env.lab.exec(
      'lan',
      process.execPath,
      ['--import', 'tsx', PAGE, `${SERVICE}/egress`, '', '7001'],
      {
        timeoutMs: 90_000,
      },
    );
    assert.equal(result.code, 0, result.stderr);
    const seen = JSON.parse(result.stdout) as { rows: { port: number; state: string; reason: string; text: string }[] };
    const row = (port: number) => seen.rows.find((r) => r.port === port);
    assert.equal(row(443)?.state, 'reachable', row(443)?.text);
    for (const port of [8080, 7001]) {
      // The portal's redirect leads off the page's allowed addresses: the browser reports a failure.
      assert.deepEqual([row(port)?.state, row(port)?.reason], ['blocked', 'failed-fast'], row(port)?.text);
      assert.match(row(port)?.text ?? '', /turned away by something on this network, such as a login page/);
    }
  });
});

describe('lab: the egress redirect is the service’s own and goes with it', { skip: labSkip() }, () => {
  let scratch: ScratchNamespace;
  before(async () => {
    scratch = await startScratchNamespace();
  });
  after(() => scratch?.stop());

  it('a table left by a dead process is removed at start; the service’s own table is removed when it stops', async () => {
    const tables = async () => (await scratch.exec('nft', ['list', 'tables'])).stdout;
    const data = mkdtempSync(join(tmpdir(), 'porthole-egress-'));
    // pid_max is at most 4194304: no process has this pid.
    const stale = await scratch.exec('nft', ['add', 'table', 'ip', 'porthole_egress_4194304']);
    assert.equal(stale.code, 0, stale.stderr);
    const serve = spawn(
      'ip',
      [
        'netns',
        'exec',
        scratch.name,
        process.execPath,
        '--import',
        'tsx',
        CLI,
        'serve',
        '--listen',
        '127.0.0.1:18080',
        '--egress-address',
        '127.0.0.1',
        '--egress-ports',
        '1-2000',
        '--data',
        data,
        '--log-level',
        'silent',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let said = '';
    serve.stderr.on('data', (chunk) => {
      said += chunk;
    });
    const exited = once(serve, 'exit');
    try {
      for (let i = 0; i < 100 && !said.includes('listening on'); i++) await sleep(100);
      assert.match(
        said,
        /egress listener on 127\.0\.0\.1: 1-2000\/tcp \(one socket per transport, nftables redirect\)/,
      );
      const running = await tables();
      assert.match(running, new RegExp(`table ip porthole_egress_${serve.pid}\\b`));
      assert.doesNotMatch(running, /porthole_egress_4194304/, 'the dead process’s table was removed');
    } finally {
      serve.kill('SIGINT');
      await Promise.race([exited, sleep(10_000)]);
    }
    rmSync(data, { recursive: true, force: true });
    assert.doesNotMatch(await tables(), /porthole_egress_/, 'nothing left behind after Ctrl-C');
  });
});
