/**
 * The check page's words, read in headless Chromium on the home lab's LAN: every verdict in
 * plain language (no "syn-ack", no "this host", no command-line flags), with the machine-
 * readable state, reason and proof kept in the result's data attributes. And the page on both
 * families: a dual-stack service named by lab DNS (one name with A and AAAA, one A-only, one
 * AAAA-only), opened at the dual-stack name, shows the LAN host's IPv4 (the router's public
 * address) and IPv6 addresses with each port's verdict per family; a browser that cannot reach
 * IPv6 reads "No IPv6 here".
 */

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { RunResult } from '../../lab/exec.js';
import type { Lab } from '../../lab/lab.js';
import { PORTHOLE_SOURCE } from '../../lab/porthole.js';
import { sleep } from '../../src/deadline/index.js';
import { labSkip, listen, natpmpcMap, startServe, useLab } from './support.js';

const PAGE = fileURLToPath(new URL('./fixtures/pageCheckWords.ts', import.meta.url));
const FAMILIES_PAGE = fileURLToPath(new URL('./fixtures/pageFamilies.ts', import.meta.url));
const CLI = PORTHOLE_SOURCE;
const CHECKER = 'http://203.0.113.254:8080';
/** The dual-stack service's names: both records, A only, AAAA only (lab DNS). */
const BOTH_NAME = 'checker.example.net';
const V4_NAME = 'v4.checker.example.net';
const V6_NAME = 'v6.checker.example.net';
const LAB_GATEWAYS = '192.168.77.0/24,2001:db8:77::/64';

/** porthole on the LAN host, with the lab's state and both families' gateways. */
function porthole(lab: Lab, args: readonly string[]): Promise<RunResult> {
  return lab.exec('lan', process.execPath, ['--import', 'tsx', CLI, ...args], {
    timeoutMs: 30_000,
    env: { XDG_STATE_HOME: `${lab.state.dir}/state-lan`, PORTHOLE_ONLY_GATEWAYS: LAB_GATEWAYS },
  });
}

/** A socat server on [::]:port (IPv6 only) in the LAN host, waited for (bounded: 2 s). */
async function listen6(lab: Lab, port: number, banner: string): Promise<void> {
  lab.startBackground('lan', `listener6-lan-${port}`, 'socat', [
    `TCP6-LISTEN:${port},fork,reuseaddr,ipv6only=1`,
    `SYSTEM:echo ${banner}`,
  ]);
  for (let i = 0; i < 100; i++) {
    if ((await lab.exec('lan', 'ss', ['-Hltn6', `sport = :${port}`])).stdout.includes(`:${port}`)) return;
    await sleep(20);
  }
  throw new Error(`socat did not listen on [::]:${port}`);
}

interface FamilySection {
  family: string;
  reached: string;
  address: string;
  text: string;
  results: { verdict: string; text: string; fields: Record<string, string | undefined> }[];
}
/** Words a person who is not a network engineer should not meet on the page. */
const JARGON = /syn-ack|conn-refused|no-response|this host|this machine|--listen|\/tcp|filtered|closed\b/i;

describe('lab: the check page in plain words', { skip: labSkip() }, () => {
  const env = useLab({
    topology: 'home',
    dnsRecords: {
      [BOTH_NAME]: '203.0.113.254,2001:db8:ff::254',
      [V4_NAME]: '203.0.113.254',
      [V6_NAME]: '2001:db8:ff::254',
    },
  });
  before(async () => {
    const { lab } = env;
    await startServe(lab, 'checker', [
      '--listen',
      '203.0.113.254:8080',
      '--allow-targets',
      '203.0.113.0/24',
      '--data',
      `${lab.state.dir}/checker-data`,
      '--probe-timeout',
      '1000',
      '--log-level',
      'silent',
    ]);
    // 7001 forwarded to a running server, 7002 forwarded to nothing, 7003 not forwarded.
    for (const port of [7001, 7002]) assert.equal((await natpmpcMap(lab, port, 600)).code, 0);
    await listen(lab, 'lan', 7001, 'media-server');
  });

  it('open, refused and timed out each read as plain words, with state and reason kept as data', async (t) => {
    if (!existsSync('/usr/bin/chromium')) {
      if (process.env.CI === 'true') assert.fail('chromium is missing (bash .ci/run installs it)');
      t.skip('Debian chromium is not installed');
      return;
    }
    const shots = process.env.PORTHOLE_SCREENSHOTS ?? '';
    const run = await env.lab.exec(
      'lan',
      process.execPath,
      ['--import', 'tsx', PAGE, `${CHECKER}/`, shots, '7001', '7002', '7003'],
      { timeoutMs: 90_000 },
    );
    assert.equal(run.code, 0, run.stderr);
    const seen = JSON.parse(run.stdout) as {
      intro: string;
      note: string;
      results: { port: string; verdict: string; text: string; fields: Record<string, string | undefined> }[];
    };
    assert.match(seen.intro, /your internet address, 203\.0\.113\.1,/);
    // No single-family URLs configured: the page says which family it checked and why not the other.
    assert.equal(
      seen.note,
      'This page checks over IPv4 only, the way your browser reached it. IPv6 is not checked: this service has no address set up that reaches it over IPv6 only.',
    );
    const [open, refused, silent] = seen.results;
    assert.deepEqual(
      seen.results.map((r) => [r.verdict, r.fields.port, r.fields.state, r.fields.reason, r.fields.verified]),
      [
        ['Unproven', '7001/tcp', 'open', 'syn-ack', 'null'],
        ['Error', '7002/tcp', 'closed', 'conn-refused', 'null'],
        ['Error', '7003/tcp', 'filtered', 'no-response', 'null'],
      ],
    );
    assert.match(
      open?.text ?? '',
      /Port 7001 \(TCP\) at your internet address 203\.0\.113\.1: Open, but not proven to reach this computer: something at your address answers/,
    );
    assert.match(open?.text ?? '', /stop the server and check again/);
    assert.match(open?.text ?? '', /What the checker saw: a program accepted the connection/);
    assert.match(refused?.text ?? '', /Refused: a device answered but nothing listens/);
    assert.match(refused?.text ?? '', /What the checker saw: the connection was refused/);
    assert.match(silent?.text ?? '', /Timed out: a firewall drops the traffic/);
    assert.match(silent?.text ?? '', /What the checker saw: nothing came back/);
    for (const result of seen.results) assert.doesNotMatch(result.text, JARGON, result.port);
    assert.doesNotMatch(seen.intro, JARGON);
  });

  describe('both families', () => {
    before(async () => {
      const { lab } = env;
      await startServe(lab, 'checker-both', [
        '--listen',
        '[::]:8081',
        '--allow-targets',
        '203.0.113.0/24,2001:db8::/32',
        '--data',
        `${lab.state.dir}/checker-both-data`,
        '--probe-timeout',
        '1000',
        '--page-ipv4',
        `http://${V4_NAME}:8081/`,
        '--page-ipv6',
        `http://${V6_NAME}:8081/`,
        '--page-origin',
        `http://${BOTH_NAME}:8081`,
        '--log-level',
        'silent',
      ]);
      // 7011: a server on both families, mapped on IPv4 and pinholed on IPv6. 7012: a server on
      // both, mapped on IPv4 only, so IPv6 drops it at the router's firewall.
      for (const port of [7011, 7012]) {
        await listen(lab, 'lan', port, `v4-${port}`);
        await listen6(lab, port, `v6-${port}`);
        const mapped = await porthole(lab, ['map', String(port)]);
        assert.equal(mapped.code, 0, mapped.stdout + mapped.stderr);
      }
      const pinholed = await porthole(lab, ['map', '7011', '--family', 'ipv6']);
      assert.equal(pinholed.code, 0, pinholed.stdout + pinholed.stderr);
    });

    async function openPage(t: { skip: (why: string) => void }, noResolve: string) {
      if (!existsSync('/usr/bin/chromium')) {
        if (process.env.CI === 'true') assert.fail('chromium is missing (bash .ci/run installs it)');
        t.skip('Debian chromium is not installed');
        return undefined;
      }
      const run = await env.lab.exec(
        'lan',
        process.execPath,
        [
          '--import',
          'tsx',
          FAMILIES_PAGE,
          `http://${BOTH_NAME}:8081/`,
          process.env.PORTHOLE_SCREENSHOTS ?? '',
          noResolve,
          '7011',
          '7012',
        ],
        { timeoutMs: 60_000 },
      );
      assert.equal(run.code, 0, run.stderr);
      return JSON.parse(run.stdout) as { intro: string; note: string; sections: FamilySection[]; errors: string[] };
    }

    it('one section per family: the address on each and the verdict of each port there', async (t) => {
      const seen = await openPage(t, '-');
      if (!seen) return;
      const { lab } = env;
      assert.match(seen.intro, /over IPv4 and over IPv6/);
      const [v4, v6] = seen.sections;
      assert.deepEqual(
        seen.sections.map((s) => [s.family, s.reached, s.address]),
        [
          ['ipv4', 'yes', lab.addresses.publicIp],
          ['ipv6', 'yes', lab.addresses.lan6],
        ],
      );
      const verdicts = (section?: FamilySection) =>
        section?.results.map((r) => [r.fields.port, r.verdict, r.fields.state, r.fields.reason]);
      assert.deepEqual(verdicts(v4), [
        ['7011/tcp', 'Unproven', 'open', 'syn-ack'],
        ['7012/tcp', 'Unproven', 'open', 'syn-ack'],
      ]);
      assert.deepEqual(verdicts(v6), [
        ['7011/tcp', 'Unproven', 'open', 'syn-ack'],
        ['7012/tcp', 'Error', 'filtered', 'no-response'],
      ]);
      assert.match(
        v4?.results[0]?.text ?? '',
        /Port 7011 \(TCP\) at your IPv4 address 203\.0\.113\.1: Open, but not proven/,
      );
      assert.match(
        v6?.results[1]?.text ?? '',
        new RegExp(`Port 7012 \\(TCP\\) at your IPv6 address ${lab.addresses.lan6}: Timed out: a firewall drops`),
      );
      for (const section of seen.sections) assert.doesNotMatch(section.text, JARGON, section.family);
      assert.deepEqual(seen.errors, []);
    });

    it('a browser that cannot reach IPv6 reads "No IPv6 here" in plain words, and IPv4 is still checked', async (t) => {
      const seen = await openPage(t, V6_NAME);
      if (!seen) return;
      const [v4, v6] = seen.sections;
      assert.equal(v4?.reached, 'yes');
      assert.deepEqual(
        v4?.results.map((r) => r.fields.state),
        ['open', 'open'],
      );
      assert.equal(v6?.reached, 'no');
      assert.deepEqual(v6?.results, []);
      assert.match(v6?.text ?? '', /No IPv6 here: this browser could not reach our server over IPv6/);
      assert.doesNotMatch(v6?.text ?? '', /error|failed|TypeError/i);
    });

    it('a single-family URL that answers over the other family is named as the service set up wrongly', async (t) => {
      if (!existsSync('/usr/bin/chromium')) {
        t.skip('Debian chromium is not installed');
        return;
      }
      const { lab } = env;
      // The "IPv6-only" URL is an IPv4 literal: a misconfiguration the page must not pass off as IPv6.
      await startServe(lab, 'checker-wrong', [
        '--listen',
        '[::]:8082',
        '--allow-targets',
        '203.0.113.0/24,2001:db8::/32',
        '--data',
        `${lab.state.dir}/checker-wrong-data`,
        '--page-ipv4',
        `http://${V4_NAME}:8082/`,
        '--page-ipv6',
        'http://203.0.113.254:8082/',
        '--log-level',
        'silent',
      ]);
      const run = await lab.exec(
        'lan',
        process.execPath,
        ['--import', 'tsx', FAMILIES_PAGE, `http://${V4_NAME}:8082/`, '', '-', '7011'],
        { timeoutMs: 60_000 },
      );
      assert.equal(run.code, 0, run.stderr);
      const seen = JSON.parse(run.stdout) as { sections: FamilySection[] };
      const [v4, v6] = seen.sections;
      assert.deepEqual(
        v4?.results.map((r) => r.fields.state),
        ['open'],
      );
      assert.equal(v6?.reached, 'wrong-family');
      assert.deepEqual(v6?.results, []);
      assert.match(
        v6?.text ?? '',
        /IPv6 address answered over IPv4, so IPv6 could not be checked: the service is set up wrongly/,
      );
    });

    it('opened at an address the service does not list, the page checks the family used and says how to check both', async (t) => {
      if (!existsSync('/usr/bin/chromium')) {
        t.skip('Debian chromium is not installed');
        return;
      }
      const run = await env.lab.exec(
        'lan',
        process.execPath,
        ['--import', 'tsx', PAGE, 'http://203.0.113.254:8081/', '', '7011'],
        { timeoutMs: 60_000 },
      );
      assert.equal(run.code, 0, run.stderr);
      const seen = JSON.parse(run.stdout) as { intro: string; note: string; results: { verdict: string }[] };
      assert.match(seen.note, /This page checks over IPv4 only.*open http:\/\/checker\.example\.net:8081\//);
      assert.deepEqual(
        seen.results.map((r) => r.verdict),
        ['Unproven'],
      );
    });
  });
});
