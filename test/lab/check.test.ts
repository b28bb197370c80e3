/**
 * The check service in the home lab: the checker runs in the internet namespace, mappings are
 * made on the real miniupnpd with natpmpc, and porthole check runs on the LAN host. Verdicts
 * are compared with nmap -sT from the internet, and the page is driven in headless Chromium.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { labSkip, listen, natpmpcMap, nmapStates, porthole, startServe, useLab } from './support.js';

const PAGE = fileURLToPath(new URL('./fixtures/pageCheck.ts', import.meta.url));

interface CheckJson {
  target: string;
  results: { port: number; protocol: string; state: string; verified: boolean | null; outcome: string }[];
}

describe('lab: porthole check against a checker on the internet', { skip: labSkip() }, () => {
  const env = useLab({ topology: 'home' });
  const checker = 'http://203.0.113.254:8080';
  before(async () => {
    const { lab } = env;
    // Inside the lab's own folder, so teardown removes it.
    const data = `${lab.state.dir}/checker-data`;
    await startServe(lab, 'checker', [
      '--listen',
      '203.0.113.254:8080',
      '--allow-targets',
      '203.0.113.0/24',
      '--data',
      data,
      '--probe-timeout',
      '1000',
      '--rate-limit',
      '1000',
    ]);
    // Mappings on the real router: 7001 and 7002 to the same port, 7004 to LAN port 7005.
    for (const port of [7001, 7002]) assert.equal((await natpmpcMap(lab, port, 600)).code, 0);
    const other = await lab.exec('lan', 'natpmpc', ['-g', lab.addresses.routerLan, '-a', '7004', '7005', 'tcp', '600']);
    assert.match(other.stdout, /Mapped public port 7004 protocol TCP to local port 7005/);
    await listen(lab, 'lan', 7005, 'SSH-2.0-not-porthole');
  });

  async function check(ports: string, listen: boolean): Promise<CheckJson> {
    const args = ['check', ports, '--checker', checker, '--json', ...(listen ? ['--listen'] : [])];
    const result = await porthole(env.lab, 'lan', args);
    assert.ok(result.code === 0 || result.code === 1, `exit ${result.code}: ${result.stderr}`);
    return JSON.parse(result.stdout) as CheckJson;
  }

  it('a forwarded port with porthole listening: open and verified (it reaches this machine)', async () => {
    const body = await check('7001', true);
    assert.equal(body.target, env.lab.addresses.publicIp);
    assert.deepEqual(
      body.results.map((r) => [r.port, r.state, r.verified, r.outcome]),
      [[7001, 'open', true, 'Success']],
    );
  });

  it('forwarded but nothing listening: closed', async () => {
    const body = await check('7002', false);
    assert.deepEqual(
      body.results.map((r) => [r.state, r.verified]),
      [['closed', null]],
    );
  });

  it('not forwarded (the router drops): filtered', async () => {
    const body = await check('7003', false);
    assert.deepEqual(
      body.results.map((r) => [r.state, r.verified]),
      [['filtered', null]],
    );
  });

  it('forwarded to another port where another program answers: open but verified false', async () => {
    const body = await check('7004', true);
    assert.deepEqual(
      body.results.map((r) => [r.state, r.verified, r.outcome]),
      [['open', false, 'Error']],
    );
  });

  it('the verdicts equal nmap -sT from the internet on the same ports', async () => {
    const { lab } = env;
    await listen(lab, 'lan', 7001, 'server-7001');
    const ours = await check('7001-7004', false);
    const theirs = await nmapStates(lab, 'internet', lab.addresses.publicIp, '7001-7004');
    const verdicts = Object.fromEntries(ours.results.map((r) => [r.port, r.state]));
    assert.deepEqual(verdicts, { 7001: 'open', 7002: 'closed', 7003: 'filtered', 7004: 'open' });
    for (const [port, state] of Object.entries(verdicts)) assert.equal(theirs.get(Number(port)), state, `port ${port}`);
  });

  it('the page in headless Chromium on the LAN shows the open port as open but not proven (a browser cannot prove which machine answers) and Error with the explanation for the others', async (t) => {
    if (!existsSync('/usr/bin/chromium')) {
      if (process.env.CI === 'true') assert.fail('chromium is missing (bash .ci/run installs it)');
      t.skip('Debian chromium is not installed');
      return;
    }
    const shots = process.env.PORTHOLE_SCREENSHOTS ?? '';
    const result = await env.lab.exec(
      'lan',
      process.execPath,
      ['--import', 'tsx', PAGE, `${checker}/`, shots, '7001', '7002', '7003'],
      {
        timeoutMs: 90_000,
      },
    );
    assert.equal(result.code, 0, result.stderr);
    const seen = JSON.parse(result.stdout) as { port: string; verdict: string; text: string; address: string }[];
    assert.equal(seen[0]?.address, env.lab.addresses.publicIp);
    assert.deepEqual(
      seen.map((s) => s.verdict),
      ['Unproven', 'Error', 'Error'],
    );
    assert.match(seen[0]?.text ?? '', /not proven to reach this computer/);
    assert.match(seen[1]?.text ?? '', /Refused: a device answered but nothing listens/);
    assert.match(seen[2]?.text ?? '', /Timed out: a firewall drops the traffic/);
    assert.match(seen[2]?.text ?? '', /The server service or process is not running/);
  });
});
