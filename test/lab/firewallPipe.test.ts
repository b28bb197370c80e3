/**
 * `porthole firewall ... | TOOL` in a scratch namespace: stdout is exactly what the firewall's
 * own tool reads from stdin (iptables-restore, ip6tables-restore, nft -f -), and --out writes
 * every file. The command runs in a shell pipeline, as a user types it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type ScratchNamespace, startScratchNamespace } from '../../lab/lab.js';
import { labSkip } from './support.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const MANIFEST = fileURLToPath(new URL('../../examples/web-server.yaml', import.meta.url));
const porthole = `${process.execPath} --import tsx ${CLI}`;

describe('firewall rules piped into the firewall’s own tool', { skip: labSkip() }, () => {
  let scratch: ScratchNamespace;
  const dir = mkdtempSync(join(tmpdir(), 'porthole-pipe-'));
  before(async () => {
    scratch = await startScratchNamespace();
  });
  after(() => {
    scratch?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const shell = (line: string) => scratch.exec('bash', ['-c', `set -o pipefail; ${line}`], { timeoutMs: 30_000 });

  it('--target iptables | iptables-restore --noflush loads the IPv4 rules, and only those', async () => {
    const piped = await shell(`${porthole} firewall ${MANIFEST} --target iptables | iptables-restore --noflush`);
    assert.equal(piped.code, 0, piped.stderr);
    assert.match(piped.stderr, /not printed: porthole-web-server\.rules\.v6 \(--family 6/);
    const v4 = await scratch.exec('iptables-save', ['-t', 'filter']);
    assert.match(v4.stdout, /-A PH-WEB-SERVER-IN .*--dport 80/);
    const v6 = await scratch.exec('ip6tables-save', ['-t', 'filter']);
    assert.doesNotMatch(v6.stdout, /PH-WEB-SERVER/);
  });

  it('--family 6 | ip6tables-restore --noflush loads the IPv6 rules', async () => {
    const piped = await shell(
      `${porthole} firewall ${MANIFEST} --target iptables --family 6 | ip6tables-restore --noflush`,
    );
    assert.equal(piped.code, 0, piped.stderr);
    const v6 = await scratch.exec('ip6tables-save', ['-t', 'filter']);
    assert.match(v6.stdout, /-A PH-WEB-SERVER-IN .*--dport 80/);
  });

  it('--target nftables | nft -f - installs the table', async () => {
    const piped = await shell(`${porthole} firewall ${MANIFEST} --target nftables | nft -f -`);
    assert.equal(piped.code, 0, piped.stderr);
    assert.match((await scratch.exec('nft', ['list', 'tables'])).stdout, /table inet porthole_web_server/);
  });

  it('--out DIR writes both iptables files; --family elsewhere is a usage error', async () => {
    const out = await shell(`${porthole} firewall ${MANIFEST} --target iptables --out ${dir}`);
    assert.equal(out.code, 0, out.stderr);
    assert.deepEqual(readdirSync(dir).sort(), ['porthole-web-server.rules.v4', 'porthole-web-server.rules.v6']);
    const wrong = await shell(`${porthole} firewall ${MANIFEST} --target nftables --family 6 --json`);
    assert.equal(wrong.code, 2);
    assert.equal((JSON.parse(wrong.stdout) as { error: { code: string } }).error.code, 'E_USAGE');
  });
});
