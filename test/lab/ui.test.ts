/**
 * The local page (`porthole ui`) in the home lab, in Chromium, as a person on the LAN host uses
 * it: `porthole ui --no-open` runs in the `lan` namespace with the lab's checker configured, and
 * Chromium runs there too. They check 7001 (a server listens) by keyboard and see each hop with
 * its verdict, make it reachable and get the address to give; with the host firewall dropping the
 * port the firewall hop fails with its fix, whose button opens it; they keep it open and stop;
 * the page's Stop ends porthole ui. A rebinding Host and a request without the key get 403, no
 * other machine reaches the page at all, and axe-core finds no serious or critical violation.
 * Screenshots go to test-output/ui/ (not committed; docs/ui/ holds chosen copies).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Lab } from '../../lab/lab.js';
import { PORTHOLE_SOURCE } from '../../lab/porthole.js';
import { PLAN } from '../../lab/topology.js';
import { sleep } from '../../src/deadline/index.js';
import { connect, labSkip, listen, porthole, serveChecker, useLab } from './support.js';

const PAGE = fileURLToPath(new URL('./fixtures/pageUi.ts', import.meta.url));
const REQUESTS = fileURLToPath(new URL('./fixtures/uiRequests.ts', import.meta.url));
const SHOTS = fileURLToPath(new URL('../../test-output/ui/', import.meta.url));
const CHECKER = `http://${PLAN.internetHost}:8080`;

interface HopSeen {
  hop: string;
  status: string;
  title: string;
  text: string;
}

/** Runs the page fixture in the LAN host's namespace and parses what it saw. */
async function browse(lab: Lab, scenario: string): Promise<Record<string, unknown>> {
  const run = await lab.exec('lan', process.execPath, ['--import', 'tsx', PAGE, ui.url, SHOTS, scenario], {
    timeoutMs: 150_000,
  });
  assert.equal(run.code, 0, `${scenario}: ${run.stderr}\n${lab.log('ui')}`);
  const seen = JSON.parse(run.stdout) as Record<string, unknown>;
  assert.deepEqual(seen.problems, [], `${scenario}: the page's script met no error`);
  return seen;
}

function statusOf(hops: unknown, hop: string): string | undefined {
  return (hops as HopSeen[]).find((h) => h.hop === hop)?.status;
}

const ui = { url: '', pid: 0 };

describe('lab: porthole ui in a browser on the LAN host', { skip: labSkip() }, () => {
  const env = useLab({ topology: 'home' });
  before(async () => {
    if (!existsSync('/usr/bin/chromium') && process.env.CI === 'true')
      assert.fail('chromium is missing (bash .ci/run installs it)');
    mkdirSync(SHOTS, { recursive: true });
    await serveChecker(env.lab);
    for (const [key, value] of [
      ['checker', CHECKER],
      ['stun', PLAN.internetHost],
    ] as const) {
      const set = await porthole(env.lab, 'lan', ['config', 'set', key, value]);
      assert.equal(set.code, 0, set.stderr);
    }
    await listen(env.lab, 'lan', 7001, 'banner');
    // The lab's own state and configuration, as a user there has them (support.ts's porthole()).
    ui.pid = await env.lab.startBackgroundUntil(
      'lan',
      'ui',
      'env',
      [
        `XDG_STATE_HOME=${env.lab.state.dir}/state-lan`,
        `XDG_CONFIG_HOME=${env.lab.state.dir}/config-lan`,
        process.execPath,
        '--import',
        'tsx',
        PORTHOLE_SOURCE,
        'ui',
        '--no-open',
      ],
      '?token=',
    );
    const printed = /http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]+/.exec(env.lab.log('ui'));
    assert.ok(printed, env.lab.log('ui'));
    ui.url = printed[0];
  });

  it('checks 7001 by keyboard, hop by hop, then "Make it reachable" turns every hop green and gives the address', async (t) => {
    if (!existsSync('/usr/bin/chromium')) return t.skip('Debian chromium is not installed');
    const seen = await browse(env.lab, 'reachable');
    assert.equal(seen.address, `${new URL(ui.url).origin}/`, 'the key left the address bar');
    // Before: this computer and the router are fine; nothing forwards 7001 yet.
    for (const hop of ['listener', 'firewall', 'gateway', 'nat']) assert.equal(statusOf(seen.checked, hop), 'ok', hop);
    assert.equal(statusOf(seen.checked, 'mapping'), 'fail');
    const listener = (seen.checked as HopSeen[]).find((h) => h.hop === 'listener');
    assert.match(listener?.title ?? '', /Something listening/);
    assert.match(listener?.text ?? '', /socat/, 'which program listens');
    assert.match(String(seen.verdict), /Not reachable yet\. Problem: Port forward on the router/);
    // After: every hop on the path is green, proven from outside, and the address is given.
    for (const hop of ['listener', 'firewall', 'gateway', 'nat', 'mapping', 'outside-in'])
      assert.equal(statusOf(seen.exposed, hop), 'ok', `${hop}: ${JSON.stringify(seen.exposed)}`);
    assert.equal(seen.give, `${PLAN.routerWanPublic}:7001/tcp`);
    assert.match(String(seen.outcome), /Reachable from the internet, proven/);
    assert.match(String(seen.outcome), /a port forward on your router/);
    assert.deepEqual(seen.axeStart, [], 'axe: no serious or critical violation on the empty page');
    assert.deepEqual(seen.axeExposed, [], 'axe: none with the checklist and the outcome shown');
    assert.equal(seen.foldOpen, true, 'the details fold opens by keyboard');
    assert.ok(Number(seen.narrowOverflow) <= 0, `nothing wider than 320 px (${seen.narrowOverflow} px over)`);
    const seenFromOutside = await connect(env.lab, 'internet', PLAN.routerWanPublic, 7001);
    assert.equal(seenFromOutside.data, 'banner', 'the internet reaches the real server');
    t.diagnostic(`first hop shown ${seen.firstHopMs} ms after Enter`);
  });

  it('the host firewall dropping 7001: its hop fails with the fix, whose button opens it; removing takes it all away', async (t) => {
    if (!existsSync('/usr/bin/chromium')) return t.skip('Debian chromium is not installed');
    const drop =
      'table inet hostfw { chain input { type filter hook input priority 0; policy accept; tcp dport 7001 drop; }; }';
    const applied = await env.lab.exec('lan', 'nft', ['-f', '-'], { input: drop });
    assert.equal(applied.code, 0, applied.stderr);
    try {
      const seen = await browse(env.lab, 'firewall');
      assert.equal(statusOf(seen.checked, 'firewall'), 'fail');
      const firewall = (seen.checked as HopSeen[]).find((h) => h.hop === 'firewall');
      assert.match(firewall?.text ?? '', /How to fix:.*porthole firewall 7001 --target nftables --apply/);
      assert.equal(seen.fixButton, 1, 'the fix has its button');
      assert.match(String(seen.opened), /firewall now lets connections in \(nftables\)/);
      assert.equal(statusOf(seen.rechecked, 'firewall'), 'ok', JSON.stringify(seen.rechecked));
      assert.match(String(seen.removed), /Removed what porthole made/);
      assert.match(String(seen.removed), /port forward 203\.0\.113\.1:7001\/tcp/);
      assert.match(String(seen.removed), /firewall rules for 7001/);
    } finally {
      await env.lab.exec('lan', 'nft', ['delete', 'table', 'inet', 'hostfw']);
    }
    const tables = await env.lab.exec('lan', 'nft', ['list', 'tables']);
    assert.doesNotMatch(tables.stdout, /porthole/, 'the firewall rules are gone');
    assert.equal((await connect(env.lab, 'internet', PLAN.routerWanPublic, 7001, 1)).outcome !== 'connected', true);
  });

  it('a rebinding Host and a request without the key get 403; no other machine reaches the page', async () => {
    const run = await env.lab.exec('lan', process.execPath, ['--import', 'tsx', REQUESTS, new URL(ui.url).origin], {
      timeoutMs: 30_000,
    });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), {
      rebound: 403,
      reboundApi: 403,
      withoutKey: 403,
      crossSite: 403,
      page: 200,
    });
    const port = Number(new URL(ui.url).port);
    const fromLan2 = await connect(env.lab, 'lan2', env.lab.addresses.lan, port, 1);
    assert.notEqual(fromLan2.outcome, 'connected', 'another machine on the LAN cannot connect');
  });

  it('"Keep it open" proves and keeps 7001 until stopped from the page; Stop ends porthole ui', async (t) => {
    if (!existsSync('/usr/bin/chromium')) return t.skip('Debian chromium is not installed');
    const seen = await browse(env.lab, 'keep');
    assert.equal(seen.keptGive, `${PLAN.routerWanPublic}:7001/tcp`);
    assert.match(String(seen.keptStatus), /Checked from outside: reachable/);
    assert.match(String(seen.keptStopped), /Stopped keeping it open: what it made was removed/);
    assert.match(String(seen.stopped), /porthole ui has stopped/);
    for (let i = 0; i < 50 && !/porthole ui stopped/.test(env.lab.log('ui')); i++) await sleep(100);
    assert.match(env.lab.log('ui'), /porthole ui stopped \(the page's Stop button\)/);
  });
});
