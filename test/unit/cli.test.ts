import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runCliCaptured } from '../support/cli.js';

const run = runCliCaptured;

const ESC = '\u001b';

const CONTRACT_COMMANDS = [
  'serve',
  'check',
  'probe',
  'egress',
  'gateway',
  'map',
  'unmap',
  'mappings',
  'nat',
  'manifest',
  'firewall',
  'doctor',
  'expose',
];

describe('porthole command-line frame', () => {
  it('--help lists every command of the contract and the exit codes', async () => {
    const { status, stdout } = await run(['--help']);
    assert.equal(status, 0);
    for (const name of CONTRACT_COMMANDS) assert.match(stdout, new RegExp(`^  ${name}\\b`, 'm'), name);
    assert.match(stdout, /Exit status: 0 all good, 1 a check found a problem, 2 bad input or usage, 3 operational/);
  });

  it('--version prints the package version', async () => {
    const { status, stdout } = await run(['--version']);
    assert.equal(status, 0);
    assert.match(stdout.trim(), /^\d+\.\d+\.\d+/);
  });

  it('an unknown command is exit 2 with a code, a suggestion and a hint', async () => {
    const { status, stderr, stdout } = await run(['serv']);
    assert.equal(status, 2);
    assert.equal(stdout, '');
    assert.match(stderr, /error E_UNKNOWN_COMMAND: Unknown command: 'serv'/);
    assert.match(stderr, /Did you mean serve\?/);
    assert.match(stderr, /hint: Run `porthole --help`/);
  });

  it('an unknown flag is exit 2 with E_UNKNOWN_OPTION', async () => {
    const { status, stderr } = await run(['gateway', '--bogus']);
    assert.equal(status, 2);
    assert.match(stderr, /E_UNKNOWN_OPTION/);
  });

  it('with --json an error is exactly one JSON document on stdout', async () => {
    const { status, stdout, stderr } = await run(['probe', '--json']);
    assert.equal(status, 2);
    assert.equal(stderr, '');
    const document = JSON.parse(stdout) as { error: { code: string; hint: string } };
    assert.equal(document.error.code, 'E_USAGE');
    assert.ok(document.error.hint.length > 0);
  });

  it('--json is global: accepted after the subcommand too', async () => {
    const { status, stdout } = await run(['frobnicate', '--json']);
    assert.equal(status, 2);
    assert.equal((JSON.parse(stdout) as { error: { code: string } }).error.code, 'E_UNKNOWN_COMMAND');
  });

  it('egress needs one of --ports and --manifest, and something to test against', async () => {
    const both = await run(['egress', '--ports', '80', '--manifest', 'x.yaml', '--json']);
    assert.equal(both.status, 2);
    assert.equal((JSON.parse(both.stdout) as { error: { code: string } }).error.code, 'E_USAGE');
    const nowhere = await run(['egress', '--ports', '80', '--json']);
    assert.equal(nowhere.status, 2);
    assert.equal((JSON.parse(nowhere.stdout) as { error: { code: string } }).error.code, 'E_NO_EGRESS_TARGET');
  });

  it('expose refuses a firewall it cannot apply before touching anything', async () => {
    const { status, stdout, stderr } = await run(['expose', '7001', '--firewall', 'ufw']);
    assert.equal(stdout, '');
    assert.match(stderr, /E_FIREWALL_UNSUPPORTED/);
    assert.ok(status === 2 || status === 3);
  });

  it('colours only on a TTY, and never with NO_COLOR', async () => {
    const tty = await run(['serv'], { tty: true });
    // Errors go to stderr; colour follows stdout being a terminal, like most CLIs.
    assert.ok(tty.stderr.includes(`${ESC}[31m`), 'red error on a TTY');
    const noColor = await run(['serv'], { tty: true, env: { NO_COLOR: '1' } });
    assert.ok(!noColor.stderr.includes(ESC), 'no colour with NO_COLOR');
    const pipe = await run(['serv'], { tty: false });
    assert.ok(!pipe.stderr.includes(ESC), 'no colour when piped');
  });

  it('no arguments prints help and exits 2', async () => {
    const { status, stdout } = await run([]);
    assert.equal(status, 2);
    assert.match(stdout, /Usage: porthole/);
  });
});

describe('porthole manifest', () => {
  it('validate exits 0 for an example and 2 with file:line:column for a bad file', async () => {
    const good = await run(['manifest', 'validate', 'examples/web-server.yaml', '--json']);
    assert.equal(good.status, 0);
    assert.equal((JSON.parse(good.stdout) as { valid: boolean }).valid, true);
    const bad = await run(['manifest', 'validate', 'test/fixtures/manifests/unknown-direction.yaml']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /unknown-direction\.yaml:6:16: ports\[0\]\.direction/);
  });

  it('show prints the table, or Markdown with --format markdown, and refuses other formats', async () => {
    const text = await run(['manifest', 'show', 'examples/web-server.yaml']);
    assert.match(text.stdout, /^http\s+inbound\s+TCP\s+80/m);
    const markdown = await run(['manifest', 'show', 'examples/web-server.yaml', '--format', 'markdown']);
    assert.match(markdown.stdout, /^\| http \| inbound \| TCP \| 80 \|/m);
    const wrong = await run(['manifest', 'show', 'examples/web-server.yaml', '--format', 'html']);
    assert.equal(wrong.status, 2);
  });
});

describe('porthole firewall', () => {
  const BAD: ReadonlyArray<[string, RegExp]> = [
    ['unknown-direction', /unknown-direction\.yaml:6:16: ports\[0\]\.direction: .*expected one of "inbound"/],
    ['port-70000', /port-70000\.yaml:7:11: ports\[0\]\.port: .*port 70000 is outside 1-65535/],
    ['range-reversed', /range-reversed\.yaml:7:11: ports\[0\]\.port: .*range 20575-20570 is reversed/],
    ['missing-protocol', /missing-protocol\.yaml:4:5: ports\[0\]\.protocol: missing/],
    ['yaml-syntax', /E_MANIFEST_SYNTAX.*yaml-syntax\.yaml:\d+:\d+/],
  ];
  for (const [name, expected] of BAD) {
    it(`${name}: exit 2 with the location, and no rules printed`, async () => {
      const result = await run(['firewall', `test/fixtures/manifests/${name}.yaml`, '--target', 'nftables']);
      assert.equal(result.status, 2);
      assert.equal(result.stdout, '');
      assert.match(result.stderr, expected);
    });
  }

  it('prints rules for PORTS, and refuses an unknown target or apply for a non-nftables target', async () => {
    const rules = await run(['firewall', '7001,5353/udp', '--target', 'nftables']);
    assert.equal(rules.status, 0);
    assert.match(rules.stdout, /tcp dport 7001 accept comment "ports\/ports-tcp"/);
    assert.match(rules.stdout, /udp dport 5353 accept/);
    assert.equal((await run(['firewall', '7001', '--target', 'iptable'])).status, 2);
    const windows = await run(['firewall', '7001', '--target', 'windows', '--apply']);
    assert.equal(windows.status, 2);
    assert.match(windows.stderr, /E_FIREWALL_UNSUPPORTED/);
  });

  it('--out writes the files and nothing else', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'porthole-out-'));
    try {
      const result = await run([
        'firewall',
        'examples/media-server.yaml',
        '--target',
        'iptables',
        '--out',
        dir,
        '--json',
      ]);
      assert.equal(result.status, 0);
      assert.deepEqual(readdirSync(dir).sort(), ['porthole-media-server.rules.v4', 'porthole-media-server.rules.v6']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the built executable', () => {
  const bin = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));

  it('runs as `porthole` with a shebang and returns the contract exit codes', async () => {
    const result = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const env = { ...process.env, PORTHOLE_CHECKER: '' };
      execFile(bin, ['egress', '--ports', '80', '--json'], { env }, (error, stdout) => {
        resolve({ code: error ? (error.code as number) : 0, stdout });
      });
    });
    assert.equal(result.code, 2);
    assert.equal((JSON.parse(result.stdout) as { error: { code: string } }).error.code, 'E_NO_EGRESS_TARGET');
  });
});

describe('network safety under test', () => {
  it('gateway discovery refuses this machine’s own gateway while PORTHOLE_ONLY_GATEWAYS names the lab', async (t) => {
    if (!process.env.PORTHOLE_ONLY_GATEWAYS) {
      t.skip('PORTHOLE_ONLY_GATEWAYS is not set (run through npm test)');
      return;
    }
    const { status, stdout } = await run(['gateway', '--json'], { env: process.env });
    assert.equal(status, 3);
    assert.equal((JSON.parse(stdout) as { error: { code: string } }).error.code, 'E_PERMISSION');
  });
});
