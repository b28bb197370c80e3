/** The lab's own promises: unique names, full teardown, clear refusal without root. */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { run } from '../../lab/exec.js';
import { STATE_DIR, startLab } from '../../lab/lab.js';
import { labSkip } from './support.js';

async function netnsList(): Promise<string> {
  return (await run('ip', ['netns', 'list'])).stdout;
}

describe('lab lifecycle', { skip: labSkip() }, () => {
  it('two labs at once get distinct names, and stop() leaves no namespace, process or file', async () => {
    const [a, b] = await Promise.all([
      startLab({ topology: 'home', upnp: false, natpmp: false }),
      startLab({ topology: 'home', upnp: false, natpmp: false }),
    ]);
    try {
      assert.notEqual(a.id, b.id);
      const listed = await netnsList();
      for (const lab of [a, b]) assert.match(listed, new RegExp(`${lab.id}-router`));
    } finally {
      a.stop();
      b.stop();
    }
    const listed = await netnsList();
    for (const lab of [a, b]) {
      assert.doesNotMatch(listed, new RegExp(lab.id));
      assert.equal(existsSync(lab.state.dir), false);
      assert.equal(existsSync(`${STATE_DIR}/${lab.id}.json`), false);
    }
    const strays = (await run('pgrep', ['-af', a.id])).stdout.trim();
    assert.equal(strays, '', 'no process names the lab any more');
  });

  it('a failure during start tears down what was built', async () => {
    const before = await netnsList();
    // nftables refuses a port above 65535, so the venue router's ruleset fails to load mid-build.
    await assert.rejects(startLab({ topology: 'venue', egressTcpPorts: [70000] }), /nft -f - failed/);
    assert.equal(await netnsList(), before);
  });

  it('an interrupted process (SIGINT) tears its lab down', async () => {
    const root = fileURLToPath(new URL('../..', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/lab/fixtures/holdLab.ts'], { cwd: root });
    const id = await new Promise<string>((resolve, reject) => {
      child.stdout.setEncoding('utf8').once('data', (line: string) => resolve(line.trim()));
      child.once('exit', (code) => reject(new Error(`holdLab exited early (${code})`)));
    });
    assert.match(await netnsList(), new RegExp(`${id}-router`));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGINT');
    await exited;
    assert.doesNotMatch(await netnsList(), new RegExp(id));
    assert.equal(existsSync(`${STATE_DIR}/${id}`), false);
  });

  it('the lab command without root exits 3 with a clear message and creates nothing', async () => {
    const nobody = spawnSync('id', ['-u', 'nobody']);
    if (nobody.status !== 0) return;
    const before = await netnsList();
    const root = fileURLToPath(new URL('../..', import.meta.url));
    const result = spawnSync(
      'setpriv',
      [
        '--reuid=nobody',
        '--regid=nogroup',
        '--clear-groups',
        process.execPath,
        '--import',
        'tsx',
        'lab/cli.ts',
        'up',
        'home',
      ],
      { cwd: root, encoding: 'utf8', env: { ...process.env, HOME: '/tmp' } },
    );
    assert.equal(result.status, 3, result.stderr);
    assert.match(result.stderr, /E_PERMISSION.*needs root/);
    assert.equal(await netnsList(), before);
  });
});
