/**
 * The macOS host adapter on Linux: socketfilterfw's wordings across releases (real output
 * pasted in public issues and notes), lsof's field output and pf (written from lsof(8) and the
 * stock /etc/pf.conf where no capture exists; see test/fixtures/host/README.md), the judge of
 * the Application Firewall and pf, then the whole doctor as on macOS with a recorded runner.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isPortholeError } from '../../src/errors/index.js';
import { backends, planRules } from '../../src/firewall/index.js';
import { createMacosHost, type PortQuestion } from '../../src/host/index.js';
import {
  evaluatePf,
  judgeMacosPort,
  LSOF_LISTEN_ARGS,
  listeningOn,
  type MacosFirewallFacts,
  parseLsofFields,
  parsePfInfo,
  parsePfRules,
  parsePsCommands,
  parseSocketfilterfw,
  SOCKETFILTERFW,
  SOCKETFILTERFW_ARGS,
} from '../../src/host/macos/index.js';
import { diagnose } from '../../src/library/index.js';
import { loadManifestOrPorts } from '../../src/manifest/index.js';
import { type Recording, recordedRunner } from '../support/recordedRunner.js';

/** porthole's state for the doctor runs (a record of mappings, none here). */
const stateDir = mkdtempSync(join(tmpdir(), 'porthole-host-doctor-'));

const fixture = (name: string) => readFileSync(new URL(`../fixtures/host/macos/${name}`, import.meta.url), 'utf8');
const PORT: PortQuestion = { protocol: 'tcp', port: 5655 };
const SERVER = '/Applications/Media Server.app/Contents/MacOS/MediaServer';
/** ALF on (real 2019 wording), nothing blocked globally; the list decides. */
const ON = fixture('kolide-getglobalstate-getblockall.txt');

describe('macOS: socketfilterfw across releases', () => {
  it('older wording (Kolide, "Block all DISABLED!") and newer (a Mac mini in 2026, "block all state set to disabled")', () => {
    const older = parseSocketfilterfw(ON);
    assert.deepEqual([older.state, older.blockAll], [1, false]);
    const newer = parseSocketfilterfw(fixture('rip-cage-2026-getglobalstate-getblockall.txt'));
    assert.deepEqual([newer.state, newer.blockAll], [0, false]);
    assert.deepEqual(newer.warnings, []);
  });

  it('State = 2 ("blocking all non-essential incoming connections", Mac-Health-Check PR 8) is block all', () => {
    assert.equal(parseSocketfilterfw(fixture('mac-health-check-pr8-getglobalstate-state2.txt')).state, 2);
  });

  it('the newer --listapps (nix-darwin issue 1705): nine programs, allow and block read', () => {
    const alf = parseSocketfilterfw(fixture('nix-darwin-1705-listapps.txt'));
    assert.equal(alf.apps?.length, 9);
    assert.deepEqual(alf.apps?.[0], { path: '/usr/libexec/sshd-session', allowed: false });
    assert.deepEqual(alf.apps?.[3], { path: '/usr/bin/python3', allowed: true });
    assert.deepEqual(
      alf.warnings.filter((warning) => /apps?\b/.test(warning)),
      [],
    );
  });

  it('the older --listapps (2019, "ALF: total number of apps", tab-padded verdict) cut short by its author: read, and said partial', () => {
    const alf = parseSocketfilterfw(fixture('friendbear-2019-listapps-partial.txt'));
    assert.deepEqual(alf.apps, [
      { path: '/Library/Java/JavaVirtualMachines/amazon-corretto-8.jdk/Contents/Home/bin/java', allowed: true },
    ]);
    assert.ok(alf.warnings.some((warning) => /lists 7 app\(s\) but 1 could be read/.test(warning)));
  });

  it('stealth and signed-software settings in the newer wording; garbage says nothing and warns', () => {
    const alf = parseSocketfilterfw(fixture('schema-getters-on-new-wording.txt'));
    assert.deepEqual(
      [alf.state, alf.blockAll, alf.stealth, alf.allowSignedBuiltIn, alf.allowSignedDownloaded],
      [1, false, true, true, false],
    );
    const garbage = parseSocketfilterfw('socketfilterfw: command not found\n');
    assert.equal(garbage.state, undefined);
    assert.ok(garbage.warnings.length > 0);
  });
});

describe('macOS: lsof fields, ps and pf', () => {
  it('lsof -F: wildcard binds per family, UDP and connected sockets told apart, NUL-separated output too', () => {
    const { sockets, skipped } = parseLsofFields(fixture('schema-lsof-listen-5655-wildcard.txt'));
    assert.equal(skipped, 0);
    assert.deepEqual(
      listeningOn(sockets, 'tcp', 5655).map((socket) => [socket.pid, socket.command, socket.local?.address]),
      [
        [812, 'MediaServer', '0.0.0.0'],
        [812, 'MediaServer', '::'],
      ],
    );
    assert.equal(listeningOn(sockets, 'udp', 5353).length, 2);
    assert.equal(listeningOn(sockets, 'udp', 52311).length, 0, 'a connected UDP socket is not a listener');
    const nul = fixture('schema-lsof-listen-5655-wildcard.txt').replaceAll('\n', '\0');
    assert.deepEqual(parseLsofFields(nul).sockets, sockets);
    assert.equal(parseLsofFields('p812\ncMediaServer\n§junk\nn*:5655\n').skipped, 1);
  });

  it('ps -o pid=,comm=: a program path with spaces', () => {
    assert.equal(parsePsCommands(fixture('schema-ps-mediaserver.txt')).get(812), SERVER);
  });

  it('pfctl -s info: enabled (a real Catalina/Big Sur capture), disabled, or not readable', () => {
    assert.equal(parsePfInfo(fixture('privacy-guides-pfctl-s-info.stdout.txt')), 'enabled');
    assert.equal(parsePfInfo(fixture('schema-pfctl-s-info-disabled.txt')), 'disabled');
    assert.equal(parsePfInfo(''), undefined);
  });

  it('pf rules: last match wins, quick ends the walk, anchors and unmodelled conditions are named as not judged', () => {
    const stock = evaluatePf(parsePfRules(fixture('schema-pfctl-s-rules-stock.txt')), 'tcp', 5655);
    assert.equal(stock.verdict, 'pass');
    assert.deepEqual(stock.unsure, [
      'anchor "com.apple/*" all (an anchor\'s own rules are not listed by pfctl -s rules)',
    ]);
    const blocked = evaluatePf(parsePfRules(fixture('schema-pfctl-s-rules-block-5655.txt')), 'tcp', 5655);
    assert.deepEqual(
      [blocked.verdict, blocked.decidedBy],
      ['block', 'block drop in quick proto tcp from any to any port = 5655'],
    );
    assert.equal(evaluatePf(parsePfRules(fixture('schema-pfctl-s-rules-block-5655.txt')), 'tcp', 5656).verdict, 'pass');
    const ordered = parsePfRules(
      'block drop in all\npass in proto tcp from any to any port 5600:5700 flags S/SA keep state\nblock drop in on en0 proto tcp from any to any port = 5655\n',
    );
    const walked = evaluatePf(ordered, 'tcp', 5655);
    assert.equal(walked.verdict, 'pass');
    assert.deepEqual(walked.unsure, ['block drop in on en0 proto tcp from any to any port = 5655']);
    assert.equal(evaluatePf(ordered, 'udp', 5655).verdict, 'block');
  });
});

const facts = (
  alfText: string,
  pf: MacosFirewallFacts['pf'] = { status: 'disabled', rules: undefined },
): MacosFirewallFacts => ({
  alf: parseSocketfilterfw(alfText),
  pf,
});

describe('macOS: the judge', () => {
  it('Application Firewall off and pf disabled: not-filtering, certain', () => {
    const answer = judgeMacosPort(facts(fixture('rip-cage-2026-getglobalstate-getblockall.txt')), PORT, SERVER, '5655');
    assert.deepEqual([answer.verdict, answer.certain, answer.reason], ['accept', true, 'not-filtering']);
  });

  it('block all (State = 2): block-all-incoming, fix turns it off', () => {
    const answer = judgeMacosPort(
      facts(fixture('mac-health-check-pr8-getglobalstate-state2.txt')),
      PORT,
      SERVER,
      '5655',
    );
    assert.deepEqual(
      [answer.verdict, answer.reason, answer.firewall],
      ['drop', 'block-all-incoming', 'macOS Application Firewall'],
    );
    assert.deepEqual(answer.fix?.commands, [`sudo ${SOCKETFILTERFW} --setblockall off`]);
    assert.match(answer.fix?.settings ?? '', /System Settings → Network → Firewall → Options/);
  });

  it("the server's app bundle set to block: app-blocked, named, fix unblocks the bundle (quoted)", () => {
    const answer = judgeMacosPort(facts(ON + fixture('schema-listapps-mediaserver-blocked.txt')), PORT, SERVER, '5655');
    assert.deepEqual([answer.verdict, answer.certain, answer.reason], ['drop', true, 'app-blocked']);
    assert.match(answer.summary, /blocks incoming connections to \/Applications\/Media Server\.app/);
    assert.deepEqual(answer.fix?.commands, [`sudo ${SOCKETFILTERFW} --unblockapp '/Applications/Media Server.app'`]);
  });

  it('not listed and no signed software let in: app-not-listed, a block not certain (someone could answer the prompt)', () => {
    const answer = judgeMacosPort(
      facts(ON + fixture('schema-allowsigned-both-off.txt') + fixture('nix-darwin-1705-listapps.txt')),
      PORT,
      SERVER,
      '5655',
    );
    assert.deepEqual([answer.verdict, answer.certain, answer.reason], ['drop', false, 'app-not-listed']);
    assert.deepEqual(answer.fix?.commands, [
      `sudo ${SOCKETFILTERFW} --add '/Applications/Media Server.app'`,
      `sudo ${SOCKETFILTERFW} --unblockapp '/Applications/Media Server.app'`,
    ]);
    // With signed software allowed, an unlisted signed program gets in: unknown, not a block.
    const signedMay = judgeMacosPort(facts(ON + fixture('nix-darwin-1705-listapps.txt')), PORT, SERVER, '5655');
    assert.deepEqual([signedMay.verdict, signedMay.reason], ['unknown', 'app-not-listed']);
  });

  it('allowed by the list; pf not readable (not root) keeps it uncertain and says why', () => {
    const allowed = judgeMacosPort(
      facts(ON + fixture('schema-listapps-mediaserver-allowed.txt')),
      PORT,
      SERVER,
      '5655',
    );
    assert.deepEqual([allowed.verdict, allowed.certain, allowed.reason], ['accept', true, 'allowed']);
    const unsure = judgeMacosPort(
      facts(ON + fixture('schema-listapps-mediaserver-allowed.txt'), {
        status: undefined,
        rules: undefined,
        problem: `pfctl -s info needs root (${fixture('schema-pfctl-permission-denied.stderr.txt').trim()})`,
      }),
      PORT,
      SERVER,
      '5655',
    );
    assert.deepEqual([unsure.verdict, unsure.certain, unsure.reason], ['accept', false, 'allowed']);
    assert.ok(
      unsure.evidence.some((line) =>
        /pf: not read \(pfctl -s info needs root \(pfctl: \/dev\/pf: Permission denied\)\)/.test(line),
      ),
    );
  });

  it('pf blocks the port although the Application Firewall allows the program: blocked-by-rule, by pf', () => {
    const answer = judgeMacosPort(
      facts(ON + fixture('schema-listapps-mediaserver-allowed.txt'), {
        status: 'enabled',
        rules: parsePfRules(fixture('schema-pfctl-s-rules-block-5655.txt')),
      }),
      PORT,
      SERVER,
      '5655',
    );
    assert.deepEqual(
      [answer.verdict, answer.certain, answer.reason, answer.firewall],
      ['drop', true, 'blocked-by-rule', 'pf'],
    );
    assert.deepEqual(answer.fix?.commands, ['porthole firewall 5655 --target pf | sudo pfctl -a porthole -f -']);
  });
});

interface MacScenario {
  readonly root?: boolean;
  readonly lsof: string;
  readonly alf: string;
  readonly pfInfo?: { stdout?: string; stderr?: string; code?: number };
  readonly pfRules?: string;
}

function macRunner(scenario: MacScenario) {
  const root = scenario.root ?? true;
  const recordings: Recording[] = [
    { command: 'lsof', args: LSOF_LISTEN_ARGS, stdout: scenario.lsof, code: scenario.lsof === '' ? 1 : 0 },
    { command: 'id', args: ['-u'], stdout: root ? '0\n' : '501\n' },
    { command: SOCKETFILTERFW, args: SOCKETFILTERFW_ARGS, stdout: scenario.alf },
    {
      command: 'pfctl',
      args: ['-s', 'info'],
      ...(scenario.pfInfo ??
        (root
          ? { stdout: fixture('schema-pfctl-s-info-disabled.txt') }
          : { code: 1, stderr: fixture('schema-pfctl-permission-denied.stderr.txt') })),
    },
    { command: 'ps', args: ['-o', 'pid=,comm=', '-p', '812'], stdout: fixture('schema-ps-mediaserver.txt') },
    ...(scenario.pfRules !== undefined ? [{ command: 'pfctl', args: ['-s', 'rules'], stdout: scenario.pfRules }] : []),
  ];
  return recordedRunner(recordings);
}

async function doctorAsOnMacos(scenario: MacScenario) {
  const runner = macRunner(scenario);
  const report = await diagnose({
    ports: '5655',
    host: createMacosHost({ runner: runner.run }),
    env: { XDG_STATE_HOME: stateDir },
  });
  runner.assertExpected();
  const find = (id: string) => report.findings.find((finding) => finding.id === id);
  return { listener: find('listener:5655/tcp'), firewall: find('firewall:5655/tcp'), runner };
}

describe('macOS: the whole doctor on recorded outputs (the four causes vendors list)', () => {
  const serving = fixture('schema-lsof-listen-5655-wildcard.txt');

  it('the server is not running (root, so lsof sees every process): not-listening', async () => {
    const { listener } = await doctorAsOnMacos({ lsof: fixture('schema-lsof-listen-other.txt'), alf: ON });
    assert.deepEqual([listener?.status, listener?.cause], ['fail', 'not-listening']);
  });

  it("not root and nothing of this user's listens: the listener is not known, never called missing", async () => {
    const { listener } = await doctorAsOnMacos({ root: false, lsof: '', alf: ON });
    assert.equal(listener?.status, 'skip');
  });

  it('the server listens on loopback only: listens-on-loopback, with its program file', async () => {
    const { listener } = await doctorAsOnMacos({ lsof: fixture('schema-lsof-listen-5655-loopback.txt'), alf: ON });
    assert.deepEqual([listener?.status, listener?.cause], ['fail', 'listens-on-loopback']);
    assert.match(
      listener?.evidence[0] ?? '',
      /127\.0\.0\.1:5655\/tcp held by MediaServer \(pid 812, \/Applications\/Media Server\.app/,
    );
  });

  const blocking: [string, MacScenario, RegExp][] = [
    [
      'block all (State = 2)',
      { lsof: serving, alf: fixture('mac-health-check-pr8-getglobalstate-state2.txt') },
      /--setblockall off/,
    ],
    [
      'block all (newer wording)',
      { lsof: serving, alf: fixture('schema-getters-blockall-new-wording.txt') },
      /--setblockall off/,
    ],
    [
      'the app is blocked',
      { lsof: serving, alf: ON + fixture('schema-listapps-mediaserver-blocked.txt') },
      /--unblockapp '\/Applications\/Media Server\.app'/,
    ],
    [
      'the app is not listed, no signed software allowed',
      { lsof: serving, alf: ON + fixture('schema-allowsigned-both-off.txt') + fixture('nix-darwin-1705-listapps.txt') },
      /--add '\/Applications\/Media Server\.app'/,
    ],
    [
      'a pf block rule',
      {
        lsof: serving,
        alf: ON + fixture('schema-listapps-mediaserver-allowed.txt'),
        pfInfo: {
          stdout: fixture('privacy-guides-pfctl-s-info.stdout.txt'),
          stderr: fixture('privacy-guides-pfctl-s-info.stderr.txt'),
        },
        pfRules: fixture('schema-pfctl-s-rules-block-5655.txt'),
      },
      /sudo pfctl -a porthole -f -/,
    ],
  ];
  for (const [name, scenario, fix] of blocking) {
    it(`the firewall blocks (${name}): host-firewall, with the fix to run as root`, async () => {
      const { listener, firewall } = await doctorAsOnMacos(scenario);
      assert.equal(listener?.status, 'ok');
      assert.deepEqual([firewall?.status, firewall?.cause], ['fail', 'host-firewall']);
      assert.match(firewall?.fix ?? '', fix);
      assert.match(firewall?.fix ?? '', /\(as root\)/);
    });
  }

  it('allowed (root; pf disabled): listener ok, firewall ok', async () => {
    const { listener, firewall } = await doctorAsOnMacos({
      lsof: serving,
      alf: ON + fixture('schema-listapps-mediaserver-allowed.txt'),
    });
    assert.deepEqual([listener?.status, firewall?.status], ['ok', 'ok']);
  });

  it('allowed, not root: the firewall finding warns (pf could not be read)', async () => {
    const { firewall } = await doctorAsOnMacos({
      root: false,
      lsof: serving,
      alf: ON + fixture('schema-listapps-mediaserver-allowed.txt'),
    });
    assert.equal(firewall?.status, 'warn');
  });
});

describe('macOS: applying and removing rules (a pf anchor per manifest)', () => {
  const plan = async () => planRules(await loadManifestOrPorts('5655', { expose: true }));

  it('not root: E_PERMISSION with the exact line to run', async () => {
    const runner = recordedRunner([{ command: 'id', args: ['-u'], stdout: '501\n' }]);
    await assert.rejects(
      createMacosHost({ runner: runner.run }).firewall.applyRules(await plan()),
      (error: unknown) => {
        assert.ok(isPortholeError(error));
        assert.equal(error.code, 'E_PERMISSION');
        const commands = error.data?.commands as string[];
        assert.equal(commands[0], "sudo pfctl -a porthole/ports -f - <<'PORTHOLE_PF'");
        assert.equal(commands.at(-1), 'PORTHOLE_PF');
        assert.ok(
          commands.includes(
            'pass in quick inet proto tcp from any to any port 5655 flags S/SA keep state label "ports/ports-tcp"',
          ),
        );
        return true;
      },
    );
    runner.assertExpected();
  });

  it('root: the rendered anchor goes to pfctl on stdin; an unhooked anchor is said', async () => {
    const runner = recordedRunner([
      { command: 'id', args: ['-u'], stdout: '0\n' },
      { command: 'pfctl', args: ['-a', 'porthole/ports', '-f', '-'] },
      { command: 'pfctl', args: ['-s', 'rules'], stdout: fixture('schema-pfctl-s-rules-stock.txt') },
    ]);
    const change = await createMacosHost({ runner: runner.run }).firewall.applyRules(await plan());
    runner.assertExpected();
    const load = runner.calls.find((call) => call.args[0] === '-a');
    assert.equal(load?.input, backends.pf.render(await plan())[0]?.content);
    assert.equal(change.container, 'anchor porthole/ports');
    assert.ok(change.rules.some((rule) => /does not call anchor "porthole\/\*"/.test(rule)));
  });

  it('root: remove flushes the anchor', async () => {
    const runner = recordedRunner([
      { command: 'id', args: ['-u'], stdout: '0\n' },
      { command: 'pfctl', args: ['-a', 'porthole/ports', '-F', 'rules'] },
    ]);
    await createMacosHost({ runner: runner.run }).firewall.removeRules('ports');
    runner.assertExpected();
    assert.deepEqual(runner.calls[1]?.args, ['-a', 'porthole/ports', '-F', 'rules']);
  });

  it("connections: root sees them; not root and none seen is unknown, not 'none'", async () => {
    const established = fixture('schema-lsof-established.txt');
    const at = (uid: string, stdout: string) =>
      createMacosHost({
        runner: recordedRunner([
          { command: 'lsof', stdout, code: stdout ? 0 : 1 },
          { command: 'id', args: ['-u'], stdout: uid },
        ]).run,
      });
    assert.deepEqual(await at('0\n', established).connections([5655]), [
      { localAddress: '192.168.1.20', localPort: 5655, remoteAddress: '203.0.113.254', remotePort: 40000 },
    ]);
    assert.equal(await at('501\n', '').connections([5655]), undefined);
    assert.equal(
      createMacosHost({ env: { HOME: '/Users/ana' } }).folder('state'),
      '/Users/ana/Library/Application Support/porthole/state',
    );
  });
});
