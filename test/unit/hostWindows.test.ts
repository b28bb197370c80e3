/**
 * The Windows host adapter on Linux: its parser and judge on real PowerShell captures (Windows
 * Server 2022 and a Windows 10 desktop, from mondoohq/cnquery's test data) and on documents
 * written from Microsoft's documented schemas where no capture exists (each named in
 * test/fixtures/host/README.md), then the whole doctor as on Windows with a recorded runner.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isPortholeError } from '../../src/errors/index.js';
import { planRules } from '../../src/firewall/index.js';
import { createWindowsHost, currentHost, type FirewallAnswer, type PortQuestion } from '../../src/host/index.js';
import {
  inspectScript,
  judgeWindowsPort,
  POWERSHELL,
  parseWindowsConnections,
  parseWindowsSnapshot,
  type WindowsSnapshot,
} from '../../src/host/windows/index.js';
import { psList } from '../../src/host/windows/psValues.js';
import { diagnose } from '../../src/library/index.js';
import { loadManifestOrPorts } from '../../src/manifest/index.js';
import {
  type DocumentParts,
  type ListenSections,
  mergeRules,
  type RuleSections,
  repeatedRules,
  windowsDocument,
  windowsFixture,
  windowsFixtureText,
  ws2022Rules,
} from '../fixtures/host/windows/document.js';
import { type RecordedRunner, recordedRunner } from '../support/recordedRunner.js';

/** porthole's state for the doctor runs (a record of mappings, none here). */
const stateDir = mkdtempSync(join(tmpdir(), 'porthole-host-doctor-'));

const PORT: PortQuestion = { protocol: 'tcp', port: 5655 };
const SERVER = 'C:\\Program Files\\MediaServer\\1.3\\MediaServer.exe';
const listen = (name: string) => windowsFixture(name) as ListenSections;
const rules = (name: string) => windowsFixture(name) as RuleSections;

function snapshotOf(parts: DocumentParts): WindowsSnapshot {
  const parsed = parseWindowsSnapshot(windowsDocument(parts));
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.problem);
  return parsed.snapshot;
}

function judge(parts: DocumentParts, question = PORT, programs: readonly string[] = [SERVER]): FirewallAnswer {
  return judgeWindowsPort(snapshotOf(parts), question, programs);
}

/** The profiles capture (all on, NotConfigured) with one profile changed. */
function profilesWith(name: string, change: Record<string, unknown>): unknown {
  return (windowsFixture('cnquery-ws2022-get-netfirewallprofile.ps-json.txt') as Record<string, unknown>[]).map(
    (profile) => (profile.Name === name ? { ...profile, ...change } : profile),
  );
}

const publicNet = () => windowsFixture('schema-networks-public.json');
const privateNet = () => windowsFixture('schema-networks-private.json');

describe('Windows: PowerShell output → snapshot', () => {
  it('Windows Server 2022 (PowerShell 5.1, enums as numbers, CimClass blocks): profiles NotConfigured read as on and blocking', () => {
    const snapshot = snapshotOf({ networks: publicNet() });
    assert.deepEqual(
      snapshot.profiles?.map((profile) => [
        profile.name,
        profile.enabled,
        profile.defaultInbound,
        profile.allowInboundRules,
      ]),
      [
        ['Domain', true, 'block', true],
        ['Private', true, 'block', true],
        ['Public', true, 'block', true],
      ],
    );
    assert.deepEqual(snapshot.networks, [{ name: 'CafeWiFi', interfaceAlias: 'WLAN', profile: 'Public' }]);
  });

  it('the real rule capture: disabled and outbound rules left out, filters joined by InstanceID', () => {
    const snapshot = snapshotOf({ rules: ws2022Rules() });
    assert.deepEqual(
      snapshot.rules?.map((rule) => [
        rule.id,
        rule.profiles,
        rule.protocol,
        rule.localPorts,
        rule.program,
        rule.remoteAddresses,
      ]),
      [
        ['WINRM-HTTP-In-TCP', ['Domain', 'Private'], 'TCP', ['5985'], 'System', ['Any']],
        [
          'RemoteDesktop-UserMode-In-TCP',
          ['Domain', 'Private'],
          'TCP',
          ['3389'],
          'C:\\Windows\\system32\\svchost.exe',
          ['Any'],
        ],
      ],
    );
    // 5.1's {"value": [...], "Count": n} wrapper, from the same capture (an outbound ICMPv6 rule's addresses).
    const filters = windowsFixture('cnquery-ws2022-rule-filters.ps-json.txt') as {
      Address: { RemoteAddress: unknown }[];
    };
    assert.deepEqual(psList(filters.Address[2]?.RemoteAddress), ['LocalSubnet6', 'ff02::2', 'fe80::/64']);
  });

  it('a raw `Get-NetFirewallRule | ConvertTo-Json` capture (Profile as the number 0 = Any) reads too', () => {
    const snapshot = snapshotOf({
      rules: {
        rules: windowsFixture('cnquery-win-openssh-get-netfirewallrule.ps-json.txt'),
        portFilters: [],
        addressFilters: [],
        applicationFilters: [],
      },
    });
    assert.deepEqual(
      snapshot.rules?.map((rule) => [rule.id, rule.displayName, rule.profiles, rule.action, rule.protocol]),
      [
        ['OpenSSH-Server-In-TCP', 'OpenSSH SSH Server (sshd)', 'any', 'allow', undefined],
        ['sshd', 'OpenSSH Server (sshd)', 'any', 'allow', undefined],
      ],
    );
  });

  it('PowerShell 7 names (-EnumsAsStrings) and single objects read as 5.1 numbers and arrays do', () => {
    const seven = parseWindowsSnapshot(windowsFixtureText('schema-ps7-enums-as-strings.json'));
    assert.ok(seven.ok);
    const five = snapshotOf({
      listen: listen('schema-listen-mediaserver.json'),
      networks: privateNet(),
      rules: rules('schema-rules-mediaserver-private-only.json'),
    });
    assert.equal(seven.snapshot.powershellVersion, '7.4.6');
    assert.deepEqual(seven.snapshot.networks, five.networks);
    assert.deepEqual(seven.snapshot.sockets, [{ protocol: 'tcp', address: '0.0.0.0', port: 5655, pid: 4412 }]);
    const rule = seven.snapshot.rules?.[0];
    assert.deepEqual(
      [rule?.action, rule?.profiles, rule?.localPorts, rule?.program],
      ['allow', ['Private', 'Public'], ['5655'], SERVER],
    );
    assert.equal(judgeWindowsPort(seven.snapshot, PORT, [SERVER]).reason, 'allowed');
  });

  it('a BOM, CRLF and pretty-printing do not matter', () => {
    const pretty = JSON.stringify(JSON.parse(windowsDocument({ networks: publicNet() })), null, 4).replaceAll(
      '\n',
      '\r\n',
    );
    const parsed = parseWindowsSnapshot(`\uFEFF${pretty}\r\n`);
    assert.ok(parsed.ok);
    assert.equal(parsed.snapshot.profiles?.length, 3);
  });

  it('Security Center: a desktop with no third-party firewall lists none; a Server has none at all', () => {
    const desktop = windowsFixture('cnquery-win10-securitycenter2.ps-json.txt') as { firewall: unknown };
    assert.deepEqual(snapshotOf({ securityCenter: desktop.firewall }).thirdParty, []);
    assert.equal(
      snapshotOf({ securityCenter: null, errors: ['securityCenter: Invalid namespace'] }).thirdParty,
      undefined,
    );
  });

  it('output cut short, or an error instead of JSON, is a named problem, never an exception', () => {
    for (const name of ['corrupt-cut-short.txt', 'corrupt-error-text-instead-of-json.txt']) {
      const parsed = parseWindowsSnapshot(windowsFixtureText(name));
      assert.equal(parsed.ok, false, name);
      assert.match(parsed.ok ? '' : parsed.problem, /not the expected JSON document/);
    }
    assert.equal(parseWindowsSnapshot('').ok, false);
    assert.equal(parseWindowsSnapshot('[1,2]').ok, false);
    // A document without its rule filters: parsed, and the gap is said.
    const partial = JSON.parse(windowsDocument({ rules: ws2022Rules() }));
    delete partial.portFilters;
    const parsed = parseWindowsSnapshot(JSON.stringify(partial));
    assert.ok(parsed.ok);
    assert.ok(parsed.warnings.some((warning) => /no portFilters section/.test(warning)));
    assert.ok(parsed.warnings.some((warning) => /without their port filters/.test(warning)));
  });

  it('connections: one object or many, empty output is none', () => {
    assert.deepEqual(parseWindowsConnections(''), []);
    assert.deepEqual(
      parseWindowsConnections(
        '{"LocalAddress":"192.168.1.20","LocalPort":5655,"RemoteAddress":"203.0.113.254","RemotePort":40000}',
      ),
      [{ localAddress: '192.168.1.20', localPort: 5655, remoteAddress: '203.0.113.254', remotePort: 40000 }],
    );
  });

  it('the inspection script is one PowerShell run, single-quoted only, with the ports as numbers', () => {
    const script = inspectScript([5655, 5655, 70000, 53]);
    assert.ok(!script.includes('"'), 'a double quote would be stripped by Windows PowerShell 5.1 -Command');
    assert.match(script, /\$ports = @\(5655, 53\)/);
    assert.match(script, /Get-NetFirewallPortFilter -All/);
    assert.doesNotMatch(script, /netsh|netstat/);
  });
});

describe('Windows: the judge names each failure', () => {
  const base = { listen: listen('schema-listen-mediaserver.json') };

  it('no rule and the default blocks (the real Server 2022 rules, a Public network): default-block, add a rule for Public', () => {
    const answer = judge({ ...base, networks: publicNet(), rules: ws2022Rules() });
    assert.deepEqual([answer.verdict, answer.certain, answer.reason], ['drop', true, 'default-block']);
    assert.deepEqual(answer.fix?.commands, [
      "New-NetFirewallRule -Group porthole -Name 'porthole-doctor-5655-tcp' -DisplayName 'porthole 5655/TCP in' -Direction Inbound -Action Allow -Protocol TCP -LocalPort 5655 -Profile Public",
    ]);
    assert.equal(answer.fix?.shell, 'powershell');
    assert.equal(answer.fix?.elevated, true);
    assert.match(answer.fix?.settings ?? '', /Allow an app through firewall/);
  });

  it('an empty firewall (no rules at all) is default-block too', () => {
    assert.equal(judge({ ...base, networks: publicNet() }).reason, 'default-block');
  });

  it('an allow rule for Private only while the network is Public: rule-for-other-profile', () => {
    const answer = judge({
      ...base,
      networks: publicNet(),
      rules: mergeRules(ws2022Rules(), rules('schema-rules-mediaserver-private-only.json')),
    });
    assert.deepEqual([answer.verdict, answer.reason], ['drop', 'rule-for-other-profile']);
    assert.match(answer.summary, /"MediaServer".*Private networks only.*Public/);
    assert.deepEqual(answer.fix?.commands, [
      "Set-NetFirewallRule -Name '{6C5B9E21-0F8A-4A7B-9E4D-3A1B2C3D4E5F}' -Profile Private, Public",
    ]);
    // On the Private network the same rule lets it in.
    assert.equal(
      judge({ ...base, networks: privateNet(), rules: rules('schema-rules-mediaserver-private-only.json') }).reason,
      'allowed',
    );
  });

  it('an allow rule for the old program file (the server was updated into 1.3): rule-for-other-program', () => {
    const answer = judge({ ...base, networks: publicNet(), rules: rules('schema-rules-mediaserver-old-path.json') });
    assert.deepEqual([answer.verdict, answer.reason], ['drop', 'rule-for-other-program']);
    assert.match(answer.summary, /MediaServer\\1\.2\\MediaServer\.exe.*1\.3\\MediaServer\.exe/);
    assert.deepEqual(answer.fix?.commands, [
      `Set-NetFirewallRule -Name '{0D1E2F30-4152-6374-8596-A7B8C9DAEBFC}' -Program '${SERVER}'`,
    ]);
  });

  it("a block rule over a range wins over porthole's allow rule: blocked-by-rule", () => {
    const answer = judge({
      ...base,
      networks: publicNet(),
      rules: rules('schema-rules-mediaserver-allow-and-block.json'),
    });
    assert.deepEqual([answer.verdict, answer.certain, answer.reason], ['drop', true, 'blocked-by-rule']);
    assert.match(answer.summary, /"Block 5655" wins/);
    assert.deepEqual(answer.fix?.commands, [
      "Set-NetFirewallRule -Name '{9A8B7C6D-5E4F-4031-A2B3-C4D5E6F70819}' -Enabled False",
    ]);
  });

  it('"Block all incoming connections" (AllowInboundRules False on Public): block-all-incoming, even with an allow rule', () => {
    const profiles = profilesWith('Public', { AllowInboundRules: 0 });
    const answer = judge({
      ...base,
      profiles,
      networks: publicNet(),
      rules: rules('schema-rules-mediaserver-allow.json'),
    });
    assert.deepEqual([answer.verdict, answer.reason], ['drop', 'block-all-incoming']);
    assert.deepEqual(answer.fix?.commands, ['Set-NetFirewallProfile -Profile Public -AllowInboundRules True']);
    // With no allow rule, the fix goes on to add one.
    const bare = judge({ ...base, profiles, networks: publicNet() });
    assert.equal(bare.fix?.commands.length, 2);
    assert.match(bare.fix?.commands[1] ?? '', /^New-NetFirewallRule -Group porthole/);
  });

  it('a third-party firewall registered with Security Center: third-party, unknown, not certain', () => {
    const answer = judge({
      ...base,
      networks: publicNet(),
      rules: rules('schema-rules-mediaserver-allow.json'),
      securityCenter: windowsFixture('schema-securitycenter-third-party.json'),
    });
    assert.deepEqual(
      [answer.verdict, answer.certain, answer.reason, answer.firewall],
      ['unknown', false, 'third-party', 'Contoso Firewall'],
    );
    assert.match(answer.summary, /cannot read its rules/);
    assert.deepEqual(answer.fix?.commands, []);
    // A block Windows Defender Firewall makes stays certain whatever else is registered.
    const blocked = judge({
      ...base,
      networks: publicNet(),
      securityCenter: windowsFixture('schema-securitycenter-third-party.json'),
    });
    assert.equal(blocked.reason, 'default-block');
  });

  it('the firewall off for the profile in use: not-filtering', () => {
    const answer = judge({ ...base, profiles: profilesWith('Public', { Enabled: 0 }), networks: publicNet() });
    assert.deepEqual([answer.verdict, answer.reason, answer.fix], ['accept', 'not-filtering', undefined]);
  });

  it('an allow rule on the profile in use: allowed', () => {
    const answer = judge({
      ...base,
      networks: publicNet(),
      rules: mergeRules(ws2022Rules(), rules('schema-rules-mediaserver-allow.json')),
    });
    assert.deepEqual([answer.verdict, answer.certain, answer.reason], ['accept', true, 'allowed']);
  });

  it('a program rule whose server program is not known (not elevated): the answer is not certain', () => {
    const answer = judge(
      { ...base, networks: privateNet(), rules: rules('schema-rules-mediaserver-private-only.json') },
      PORT,
      [],
    );
    assert.equal(answer.certain, false);
    assert.ok(answer.evidence.some((line) => /not judged: rule "MediaServer": it is for/.test(line)));
  });

  it('German Windows: the DisplayName in the summary is German, the fix names the rule by its InstanceID', () => {
    const answer = judge(
      { networks: privateNet(), rules: rules('schema-de-de-fps-rules.json') },
      { protocol: 'tcp', port: 445 },
      ['System'],
    );
    assert.equal(answer.reason, 'default-block');
    assert.match(answer.summary, /"Datei- und Druckerfreigabe \(SMB eingehend\)" admits only LocalSubnet/);
    // On a Public network the Private-only rule is a rule for another profile... but LocalSubnet never admits the internet.
    assert.equal(
      judge({ networks: publicNet(), rules: rules('schema-de-de-fps-rules.json') }, { protocol: 'tcp', port: 445 }, [
        'System',
      ]).reason,
      'default-block',
    );
  });

  it('500 rules (the real ones repeated): parsed and judged in well under a second', () => {
    const text = windowsDocument({
      ...base,
      networks: privateNet(),
      rules: mergeRules(repeatedRules(500), rules('schema-rules-mediaserver-allow.json')),
    });
    const started = performance.now();
    const parsed = parseWindowsSnapshot(text);
    assert.ok(parsed.ok);
    const answers = [PORT, { protocol: 'tcp' as const, port: 3389 }, { protocol: 'tcp' as const, port: 9999 }].map(
      (question) => judgeWindowsPort(parsed.snapshot, question, [SERVER]),
    );
    const ms = performance.now() - started;
    assert.deepEqual(
      answers.map((answer) => answer.reason),
      ['allowed', 'rule-for-other-program', 'default-block'],
    );
    assert.ok(ms < 1000, `took ${ms} ms`);
  });
});

/** A runner answering the inspection script with `document`; everything else is unexpected. */
function windowsRunner(document: string, extra: Parameters<typeof recordedRunner>[0] = []): RecordedRunner {
  return recordedRunner([
    { command: POWERSHELL, args: (args) => args[3]?.includes("Read-Section 'tcp'") === true, stdout: document },
    ...extra,
  ]);
}

async function doctorAsOnWindows(document: string) {
  const runner = windowsRunner(document);
  const report = await diagnose({
    ports: '5655',
    host: createWindowsHost({ runner: runner.run }),
    env: { XDG_STATE_HOME: stateDir },
  });
  runner.assertExpected();
  const inspections = runner.calls.filter((call) => call.command === POWERSHELL);
  assert.equal(inspections.length, 1, 'one PowerShell start per inspect');
  assert.deepEqual(inspections[0]?.args.slice(0, 3), ['-NoProfile', '-NonInteractive', '-Command']);
  const find = (id: string) => report.findings.find((finding) => finding.id === id);
  return { listener: find('listener:5655/tcp'), firewall: find('firewall:5655/tcp') };
}

describe('Windows: the whole doctor on recorded outputs (the four causes vendors list)', () => {
  const serverUp = { listen: listen('schema-listen-mediaserver.json'), networks: publicNet() };

  it('the server is not running: listener fails not-listening', async () => {
    const { listener } = await doctorAsOnWindows(
      windowsDocument({ listen: listen('schema-listen-none.json'), networks: publicNet() }),
    );
    assert.deepEqual([listener?.status, listener?.cause], ['fail', 'not-listening']);
  });

  it('the server listens on loopback only: listens-on-loopback', async () => {
    const { listener } = await doctorAsOnWindows(
      windowsDocument({ listen: listen('schema-listen-mediaserver-loopback.json'), networks: publicNet() }),
    );
    assert.deepEqual([listener?.status, listener?.cause], ['fail', 'listens-on-loopback']);
    assert.match(
      listener?.evidence[0] ?? '',
      /127\.0\.0\.1:5655\/tcp held by MediaServer\.exe \(pid 4412, C:\\Program Files/,
    );
  });

  const blocking: [string, DocumentParts, RegExp][] = [
    [
      'rule for another profile',
      { ...serverUp, rules: rules('schema-rules-mediaserver-private-only.json') },
      /Set-NetFirewallRule -Name .* -Profile Private, Public/,
    ],
    [
      'rule for another program',
      { ...serverUp, rules: rules('schema-rules-mediaserver-old-path.json') },
      /-Program 'C:\\Program Files\\MediaServer\\1\.3/,
    ],
    ['a block rule', { ...serverUp, rules: rules('schema-rules-mediaserver-allow-and-block.json') }, /-Enabled False/],
    [
      'block all incoming',
      { ...serverUp, profiles: profilesWith('Public', { AllowInboundRules: 0 }) },
      /Set-NetFirewallProfile -Profile Public -AllowInboundRules True/,
    ],
    ['no rule, default block', { ...serverUp, rules: ws2022Rules() }, /New-NetFirewallRule -Group porthole/],
  ];
  for (const [name, parts, fix] of blocking) {
    it(`the firewall blocks (${name}): firewall fails host-firewall with the PowerShell fix`, async () => {
      const { listener, firewall } = await doctorAsOnWindows(windowsDocument(parts));
      assert.equal(listener?.status, 'ok');
      assert.deepEqual([firewall?.status, firewall?.cause], ['fail', 'host-firewall']);
      assert.match(firewall?.fix ?? '', fix);
      assert.match(firewall?.fix ?? '', /in PowerShell run as administrator/);
    });
  }

  it('a third-party firewall: the firewall finding warns and names it', async () => {
    const { firewall } = await doctorAsOnWindows(
      windowsDocument({
        ...serverUp,
        rules: rules('schema-rules-mediaserver-allow.json'),
        securityCenter: windowsFixture('schema-securitycenter-third-party.json'),
      }),
    );
    assert.equal(firewall?.status, 'warn');
    assert.match(firewall?.summary ?? '', /Contoso Firewall/);
  });

  it('the firewall off for the profile in use: ok (not filtering)', async () => {
    const { firewall } = await doctorAsOnWindows(
      windowsDocument({ ...serverUp, profiles: profilesWith('Public', { Enabled: 0 }) }),
    );
    assert.equal(firewall?.status, 'ok');
  });

  it('allowed: listener ok, firewall ok', async () => {
    const { listener, firewall } = await doctorAsOnWindows(
      windowsDocument({ ...serverUp, rules: mergeRules(ws2022Rules(), rules('schema-rules-mediaserver-allow.json')) }),
    );
    assert.deepEqual([listener?.status, firewall?.status], ['ok', 'ok']);
    assert.match(firewall?.summary ?? '', /lets 5655\/tcp in on the Public profile/);
  });

  it('PowerShell output cut short: the firewall warns that it could not be read, nothing crashes', async () => {
    const { listener, firewall } = await doctorAsOnWindows(windowsFixtureText('corrupt-cut-short.txt'));
    assert.equal(listener?.status, 'skip');
    assert.equal(firewall?.status, 'warn');
    assert.match(firewall?.summary ?? '', /could not be read/);
  });
});

describe('Windows: applying and removing rules', () => {
  const plan = async () => planRules(await loadManifestOrPorts('5655,5656/udp', { expose: true }));
  const probe = (elevated: boolean, categories = '[0]') => ({
    command: POWERSHELL,
    args: (args: readonly string[]) => args[3]?.includes('IsInRole') === true && !args[3]?.includes('Read-Section'),
    stdout: `{"elevated":${elevated},"categories":${categories}}`,
  });

  it('without elevation: E_PERMISSION whose data.commands are the exact lines for an elevated prompt', async () => {
    const runner = recordedRunner([probe(false)]);
    const host = createWindowsHost({ runner: runner.run });
    await assert.rejects(host.firewall.applyRules(await plan()), (error: unknown) => {
      assert.ok(isPortholeError(error));
      assert.equal(error.code, 'E_PERMISSION');
      assert.deepEqual(error.data?.commands, [
        "$portholeProfiles = @(Get-NetConnectionProfile | ForEach-Object { @('Public', 'Private', 'Domain')[[int]$_.NetworkCategory] } | Sort-Object -Unique)",
        "Get-NetFirewallRule -Group porthole -ErrorAction SilentlyContinue | Where-Object { $_.Name.StartsWith('porthole-ports-') } | Remove-NetFirewallRule",
        "New-NetFirewallRule -Group porthole -Name 'porthole-ports-ports-tcp-tcp' -DisplayName 'porthole ports/ports-tcp TCP in' -Direction Inbound -Action Allow -Protocol TCP -LocalPort '5655' -Profile $portholeProfiles | Out-Null",
        "New-NetFirewallRule -Group porthole -Name 'porthole-ports-ports-udp-udp' -DisplayName 'porthole ports/ports-udp UDP in' -Direction Inbound -Action Allow -Protocol UDP -LocalPort '5656' -Profile $portholeProfiles | Out-Null",
      ]);
      return true;
    });
    runner.assertExpected();
    assert.equal(runner.calls.length, 1, 'nothing is changed without elevation');
    assert.equal(await host.isElevated(), false);
  });

  it('elevated: the rules go to the runner in one all-or-nothing script, for the profile in use', async () => {
    const runner = recordedRunner([
      probe(true, '[0,1]'),
      { command: POWERSHELL, args: (args) => args[3]?.includes('New-NetFirewallRule') === true },
    ]);
    const host = createWindowsHost({ runner: runner.run });
    const change = await host.firewall.applyRules(await plan());
    runner.assertExpected();
    const script = runner.calls[1]?.args[3] ?? '';
    assert.equal(
      script,
      [
        "$ErrorActionPreference = 'Stop'",
        'try {',
        "  Get-NetFirewallRule -Group porthole -ErrorAction SilentlyContinue | Where-Object { $_.Name.StartsWith('porthole-ports-') } | Remove-NetFirewallRule",
        "  New-NetFirewallRule -Group porthole -Name 'porthole-ports-ports-tcp-tcp' -DisplayName 'porthole ports/ports-tcp TCP in' -Direction Inbound -Action Allow -Protocol TCP -LocalPort '5655' -Profile Public, Private | Out-Null",
        "  New-NetFirewallRule -Group porthole -Name 'porthole-ports-ports-udp-udp' -DisplayName 'porthole ports/ports-udp UDP in' -Direction Inbound -Action Allow -Protocol UDP -LocalPort '5656' -Profile Public, Private | Out-Null",
        '} catch {',
        "  Get-NetFirewallRule -Group porthole -ErrorAction SilentlyContinue | Where-Object { $_.Name.StartsWith('porthole-ports-') } | Remove-NetFirewallRule",
        '  throw',
        '}',
      ].join('\n'),
    );
    assert.deepEqual(change.rules, [
      'porthole-ports-ports-tcp-tcp: allow TCP 5655 in (Public, Private)',
      'porthole-ports-ports-udp-udp: allow UDP 5656 in (Public, Private)',
    ]);
    assert.equal(change.container, 'rule group porthole (porthole-ports-*)');
  });

  it('elevated, every profile when asked', async () => {
    const runner = recordedRunner([
      probe(true),
      { command: POWERSHELL, args: (args) => args[3]?.includes('New-NetFirewallRule') === true },
    ]);
    await createWindowsHost({ runner: runner.run }).firewall.applyRules(await plan(), { profiles: 'all' });
    assert.match(runner.calls[1]?.args[3] ?? '', /-Profile Any \| Out-Null/);
  });

  it('a rule Windows refuses: E_FIREWALL_APPLY with its message', async () => {
    const runner = recordedRunner([
      probe(true),
      {
        command: POWERSHELL,
        args: (args) => args[3]?.includes('New-NetFirewallRule') === true,
        code: 1,
        stderr: 'New-NetFirewallRule : Access is denied.\r\n',
      },
    ]);
    await assert.rejects(
      createWindowsHost({ runner: runner.run }).firewall.applyRules(await plan()),
      (error: unknown) => {
        assert.ok(isPortholeError(error));
        assert.equal(error.code, 'E_FIREWALL_APPLY');
        assert.match(error.message, /Access is denied/);
        return true;
      },
    );
  });

  it("remove, elevated: the group, this manifest's rules only; the removed names come back", async () => {
    const runner = recordedRunner([
      probe(true),
      {
        command: POWERSHELL,
        args: (args) => args[3]?.includes('Remove-NetFirewallRule') === true,
        stdout: '["porthole-ports-ports-tcp-tcp","porthole-ports-ports-udp-udp"]',
      },
    ]);
    const change = await createWindowsHost({ runner: runner.run }).firewall.removeRules('ports');
    runner.assertExpected();
    assert.equal(
      runner.calls[1]?.args[3],
      [
        "$ErrorActionPreference = 'Stop'",
        "$gone = @(Get-NetFirewallRule -Group porthole -ErrorAction SilentlyContinue | Where-Object { $_.Name.StartsWith('porthole-ports-') })",
        '$gone | Remove-NetFirewallRule',
        'ConvertTo-Json -Compress -InputObject @($gone | ForEach-Object { $_.Name })',
      ].join('\n'),
    );
    assert.deepEqual(change.rules, ['porthole-ports-ports-tcp-tcp', 'porthole-ports-ports-udp-udp']);
  });

  it('remove without elevation: E_PERMISSION with the removal line', async () => {
    const runner = recordedRunner([probe(false)]);
    await assert.rejects(createWindowsHost({ runner: runner.run }).firewall.removeRules('ports'), (error: unknown) => {
      assert.ok(isPortholeError(error));
      assert.deepEqual(error.data?.commands, [
        "Get-NetFirewallRule -Group porthole -ErrorAction SilentlyContinue | Where-Object { $_.Name.StartsWith('porthole-ports-') } | Remove-NetFirewallRule",
      ]);
      return true;
    });
  });

  it('commandsFor is pure: every profile, and the removal line', async () => {
    const commands = createWindowsHost({ runner: recordedRunner([]).run }).firewall.commandsFor(await plan(), {
      profiles: 'all',
    });
    assert.equal(commands.shell, 'powershell');
    assert.match(commands.apply[1] ?? '', /-Profile Any/);
    assert.equal(commands.remove.length, 1);
  });

  it("connections come from their own short run; the folder is Windows' own; currentHost picks Windows on win32", async () => {
    const runner = recordedRunner([
      {
        command: POWERSHELL,
        args: (args) => args[3]?.includes('-State Established') === true,
        stdout: '[{"LocalAddress":"192.168.1.20","LocalPort":5655,"RemoteAddress":"203.0.113.254","RemotePort":40000}]',
      },
    ]);
    const host = createWindowsHost({ runner: runner.run, env: { LOCALAPPDATA: 'C:\\Users\\ana\\AppData\\Local' } });
    assert.deepEqual(await host.connections([5655]), [
      { localAddress: '192.168.1.20', localPort: 5655, remoteAddress: '203.0.113.254', remotePort: 40000 },
    ]);
    assert.equal(host.folder('state'), 'C:\\Users\\ana\\AppData\\Local\\porthole');
    assert.equal(currentHost({}, 'win32').system, 'windows');
    assert.equal(currentHost({}, 'darwin').system, 'macos');
    assert.equal(currentHost({}, 'linux').system, 'linux');
  });
});
