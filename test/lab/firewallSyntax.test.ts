/** Generated rules are accepted by the firewalls' own tools: nft -c, iptables-restore --test, firewalld's reader. */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { run } from '../../lab/exec.js';
import { type ScratchNamespace, startScratchNamespace } from '../../lab/lab.js';
import { backends, planRules, type RulePlan, resolveManifestNames } from '../../src/firewall/index.js';
import { loadManifest } from '../../src/manifest/index.js';
import { labSkip } from './support.js';

const EXAMPLES = ['remote-access-server', 'web-server', 'camera-system', 'appliance', 'media-server'];

async function plan(example: string): Promise<RulePlan> {
  const manifest = await loadManifest(`examples/${example}.yaml`);
  // Fixed answers for the appliance's pool: no test asks real DNS.
  return planRules(manifest, await resolveManifestNames(manifest, async () => ['198.51.100.7', '2001:db8::7']));
}

describe('generated rules pass their firewall’s own checker', { skip: labSkip() }, () => {
  let scratch: ScratchNamespace;
  const dir = mkdtempSync(join(tmpdir(), 'porthole-fw-'));
  before(async () => {
    scratch = await startScratchNamespace();
  });
  after(() => {
    scratch?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const example of EXAMPLES) {
    it(`${example}: nft -c accepts the nftables file`, async () => {
      const [file] = backends.nftables.render(await plan(example));
      const checked = await scratch.exec('nft', ['-c', '-f', '-'], { input: file?.content ?? '' });
      assert.equal(checked.code, 0, checked.stderr);
    });

    it(`${example}: iptables-restore --test and ip6tables-restore --test accept the files`, async () => {
      const [v4, v6] = backends.iptables.render(await plan(example));
      for (const [tool, file] of [
        ['iptables-restore', v4],
        ['ip6tables-restore', v6],
      ] as const) {
        const checked = await scratch.exec(tool, ['--test', '--noflush'], { input: file?.content ?? '' });
        assert.equal(checked.code, 0, `${tool}: ${checked.stderr}`);
      }
    });

    it(`${example}: firewalld's own service reader accepts every service XML`, async (t) => {
      if (!existsSync('/usr/lib/python3/dist-packages/firewall')) {
        if (process.env.CI === 'true') assert.fail('python3-firewall is missing (bash .ci/run installs it)');
        t.skip('python3-firewall is not installed');
        return;
      }
      const files = backends.firewalld.render(await plan(example)).filter((file) => file.name.endsWith('.xml'));
      for (const file of files) {
        writeFileSync(join(dir, file.name), file.content);
        const script = `from firewall.core.io.service import service_reader\nservice_reader(${JSON.stringify(file.name)}, ${JSON.stringify(dir)})`;
        const checked = await run('/usr/bin/python3', ['-c', script]);
        assert.equal(checked.code, 0, `${file.name}: ${checked.stderr}`);
      }
    });
  }

  it('the checkers do refuse a broken file (the tests above can fail)', async () => {
    const broken = await scratch.exec('nft', ['-c', '-f', '-'], {
      input: 'table inet x {\n  chain y {\n    tcp dport 70000 accept\n  }\n}\n',
    });
    assert.notEqual(broken.code, 0);
    const brokenIptables = await scratch.exec('iptables-restore', ['--test'], {
      input: '*filter\n-A INPUT -p tcp --dport 99999 -j ACCEPT\nCOMMIT\n',
    });
    assert.notEqual(brokenIptables.code, 0);
  });
});
