/**
 * `porthole name` as a command: the contract's JSON and exit codes against a loopback primary
 * (test/support/fakeDns.ts), and bad input as exit 2 with a stable code, the secret never shown.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseTsigKeyFile } from '../../src/dns/index.js';
import { runCliJson } from '../support/cli.js';
import { type FakeDns, startFakeDns } from '../support/fakeDns.js';

const SECRET = 'vybMpHO9JLZQtYgW/PolbXtiwa0tXbl2bR7ralKJZhs=';
const KEY_TEXT = `key "k" {\n\talgorithm hmac-sha256;\n\tsecret "${SECRET}";\n};\n`;
const ZONE = 'dyn.example.net';

async function run(argv: string[]): Promise<{ status: number; json: Record<string, unknown>; text: string }> {
  const { status, json, stdout, stderr } = await runCliJson([...argv, '--json']);
  return { status, json, text: stdout + stderr };
}

describe('porthole name', () => {
  const dir = mkdtempSync(join(tmpdir(), 'porthole-name-cli-'));
  const keyFile = join(dir, 'k.key');
  writeFileSync(keyFile, KEY_TEXT, { mode: 0o600 });
  let fake: FakeDns;
  before(async () => {
    fake = await startFakeDns(ZONE, parseTsigKeyFile(KEY_TEXT));
  });
  after(() => fake.close());
  const server = () => `127.0.0.1:${fake.port}`;

  it('set prints the contract JSON; show reads the record back; exit 0', async () => {
    const set = await run([
      'name',
      'set',
      `h.${ZONE}`,
      '--ip',
      '192.0.2.44',
      '--rfc2136',
      server(),
      '--tsig-key',
      keyFile,
      '--data',
      dir,
    ]);
    assert.equal(set.status, 0, set.text);
    assert.equal(set.json.name, `h.${ZONE}`);
    assert.deepEqual(
      (set.json.records as { type: string; address: string; changed: boolean }[]).map((r) => [
        r.type,
        r.address,
        r.changed,
      ]),
      [['A', '192.0.2.44', true]],
    );
    const show = await run(['name', 'show', `h.${ZONE}`, '--server', server()]);
    assert.equal(show.status, 0, show.text);
    assert.deepEqual(show.json.records, [{ type: 'A', address: '192.0.2.44', changed: false, ttl: 60 }]);
    const missing = await run(['name', 'show', `none.${ZONE}`, '--server', server()]);
    assert.equal(missing.status, 1);
    assert.ok(!set.text.includes(SECRET));
  });

  it('bad input is exit 2 with its code', async () => {
    const cases: [string[], string][] = [
      [['name', 'set', `h.${ZONE}`, '--ip', '192.0.2.1'], 'E_USAGE'],
      [['name', 'set', `h.${ZONE}`, '--ip', '192.0.2.1', '--rfc2136', server()], 'E_USAGE'],
      [['name', 'set', 'bad..name', '--ip', '192.0.2.1', '--rfc2136', server(), '--tsig-key', keyFile], 'E_DNS_NAME'],
      [
        ['name', 'set', `h.${ZONE}`, '--ip', '192.0.2.1', '--rfc2136', server(), '--tsig-key', join(dir, 'none')],
        'E_DNS_KEY_FILE',
      ],
      [
        ['name', 'set', `h.${ZONE}`, '--ip', '192.0.2.1', '--rfc2136', 'dns.example.net', '--tsig-key', keyFile],
        'E_USAGE',
      ],
      [['name', 'set', `h.${ZONE}`, '--ip', 'not-an-ip', '--rfc2136', server(), '--tsig-key', keyFile], 'E_ADDRESS'],
      [
        ['name', 'set', `h.${ZONE}`, '--dyndns2', 'ftp://x/nic/update', '--user', 'u', '--password-file', keyFile],
        'E_USAGE',
      ],
      [
        [
          'name',
          'set',
          `h.${ZONE}`,
          '--dyndns2',
          'http://127.0.0.1/nic/update',
          '--user',
          'u',
          '--password-file',
          join(dir, 'none'),
        ],
        'E_DNS_SECRET_FILE',
      ],
      [['name', 'show', `h.${ZONE}`], 'E_USAGE'],
    ];
    for (const [argv, code] of cases) {
      const result = await run(argv);
      assert.equal(result.status, 2, `${argv.join(' ')}: ${result.text}`);
      assert.equal((result.json.error as { code: string }).code, code, argv.join(' '));
      assert.ok(!result.text.includes(SECRET));
    }
  });
});
