/**
 * The check page's words, read in headless Chromium on the home lab's LAN: every verdict in
 * plain language (no "syn-ack", no "this host", no command-line flags), with the machine-
 * readable state, reason and proof kept in the result's data attributes.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { labSkip, listen, natpmpcMap, startServe, useLab } from './support.js';

const PAGE = fileURLToPath(new URL('./fixtures/pageCheckWords.ts', import.meta.url));
const CHECKER = 'http://203.0.113.254:8080';
/** Words a person who is not a network engineer should not meet on the page. */
const JARGON = /syn-ack|conn-refused|no-response|this host|this machine|--listen|\/tcp|filtered|closed\b/i;

describe('lab: the check page in plain words', { skip: labSkip() }, () => {
  const env = useLab({ topology: 'home' });
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
      results: { port: string; verdict: string; text: string; fields: Record<string, string | undefined> }[];
    };
    assert.match(seen.intro, /your internet address, 203\.0\.113\.1,/);
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
});
