/**
 * porthole as a vendor gets it: `npm pack`, installed into a fresh project, its faces and types
 * checked there, and the three examples of docs/library.md run in the lab's LAN against the real
 * router (miniupnpd) and a real check service on the internet host.
 */

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Lab } from '../../lab/lab.js';
import { PLAN } from '../../lab/topology.js';
import { sleep } from '../../src/deadline/index.js';
import { processAlive } from '../../src/system/index.js';
import { connect, labSkip, porthole, startServe, useLab, waitForPublicPort } from './support.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CHECKER = `http://${PLAN.internetHost}:8080`;
const execFileAsync = promisify(execFile);

/** The newest modification time under a folder (bounded walk: source trees only). */
function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

/** Builds when dist is older than src (npm test builds first, so usually it is not). */
async function ensureBuilt(): Promise<void> {
  let built = 0;
  try {
    built = Math.min(
      statSync(join(ROOT, 'dist/src/index.js')).mtimeMs,
      statSync(join(ROOT, 'dist/cli/main.js')).mtimeMs,
    );
  } catch {
    // Not built yet.
  }
  if (built < newest(join(ROOT, 'src')))
    await execFileAsync('npm', ['run', '-s', 'build'], { cwd: ROOT, timeout: 180_000 });
}

/**
 * A fresh project with the packed porthole installed. `npm install --offline` of the tarball is
 * tried first; this machine has no npm cache of porthole's dependencies and no registry, so it
 * fails with ENOTCACHED, and the test then does by hand what npm would: the tarball unpacked in
 * node_modules/porthole and each of its dependencies linked from the repository's node_modules.
 */
async function installPacked(): Promise<{ dir: string; how: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'porthole-vendor-'));
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'vendor-app', version: '1.0.0', type: 'module', private: true }),
  );
  const { stdout } = await execFileAsync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], {
    cwd: ROOT,
    timeout: 60_000,
  });
  const [packed] = JSON.parse(stdout) as { filename: string }[];
  const tarball = join(dir, packed?.filename ?? '');
  try {
    await execFileAsync('npm', ['install', '--offline', '--no-audit', '--no-fund', tarball], {
      cwd: dir,
      timeout: 60_000,
    });
    return { dir, how: 'npm install --offline of the tarball' };
  } catch (error) {
    const reason = /ENOTCACHED/.test(String((error as { stderr?: string }).stderr)) ? 'ENOTCACHED' : 'failed';
    const target = join(dir, 'node_modules', 'porthole');
    mkdirSync(target, { recursive: true });
    await execFileAsync('tar', ['xzf', tarball, '-C', target, '--strip-components=1']);
    const repositoryModules = realpathSync(join(ROOT, 'node_modules'));
    const manifest = JSON.parse(readFileSync(join(target, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    // The consumer's own tools: TypeScript needs Node's types to read porthole's .d.ts.
    for (const name of [...Object.keys(manifest.dependencies), '@types/node', 'undici-types']) {
      const link = join(dir, 'node_modules', name);
      mkdirSync(join(link, '..'), { recursive: true });
      symlinkSync(join(repositoryModules, name), link);
    }
    return {
      dir,
      how: `npm install --offline ${reason}; tarball unpacked into node_modules/porthole, dependencies linked from the repository`,
    };
  }
}

function node(
  lab: Lab,
  project: string,
  script: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs = 60_000,
) {
  return lab.exec('lan', process.execPath, [join(project, script), ...args], { env, timeoutMs });
}

async function waitForLog(lab: Lab, name: string, pattern: RegExp, seconds: number): Promise<boolean> {
  for (let i = 0; i < seconds * 5; i++) {
    if (pattern.test(lab.log(name))) return true;
    await sleep(200);
  }
  return false;
}

describe('lab: the packed library in a vendor project', { skip: labSkip() }, () => {
  const env = useLab({ topology: 'home' });
  let project = '';
  let stateEnv: Record<string, string> = {};
  before(async () => {
    await ensureBuilt();
    const installed = await installPacked();
    project = installed.dir;
    process.stderr.write(`# library install: ${installed.how}\n`);
    for (const name of readdirSync(join(ROOT, 'examples/library')))
      copyFileSync(join(ROOT, 'examples/library', name), join(project, name));
    stateEnv = {
      XDG_STATE_HOME: `${env.lab.state.dir}/state-lan`,
      XDG_CONFIG_HOME: `${project}/config`,
      PORTHOLE_CHECKER: CHECKER,
    };
    await startServe(env.lab, 'checker', [
      '--listen',
      `${PLAN.internetHost}:8080`,
      '--allow-targets',
      PLAN.internetSubnet,
      '--data',
      `${env.lab.state.dir}/checker-data`,
      '--log-level',
      'silent',
    ]);
  });
  after(() => {
    if (project) rmSync(project, { recursive: true, force: true });
  });

  it('the installed package has its root and subpath faces, .d.ts that type-check, and no deep imports', async () => {
    writeFileSync(
      join(project, 'consumer.ts'),
      [
        "import { checkReachable, diagnose, discoverGateways, keepPortMapped, mapPort, planFirewall, PortholeError, type PortMapping } from 'porthole';",
        "import { createNatpmpClient } from 'porthole/gateway';",
        "import { judge as judgeNat } from 'porthole/nat';",
        "import { judge as judgeDoctor } from 'porthole/doctor';",
        "import { parsePortSpec } from 'porthole/net';",
        "import { resolveSetting } from 'porthole/config';",
        "import { isPortholeError } from 'porthole/errors';",
        'const used: unknown[] = [checkReachable, diagnose, discoverGateways, keepPortMapped, planFirewall, createNatpmpClient, judgeNat, judgeDoctor, parsePortSpec, resolveSetting, isPortholeError];',
        'export async function open(signal: AbortSignal): Promise<PortMapping> { return mapPort({ port: 7001, signal }); }',
        "export const bad: PortholeError['code'] = 'E_PORT_SPEC';",
        'void used;',
      ].join('\n'),
    );
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          strict: true,
          noEmit: true,
          types: ['node'],
          skipLibCheck: false,
          target: 'es2022',
        },
        files: ['consumer.ts'],
      }),
    );
    const tsc = join(realpathSync(join(ROOT, 'node_modules')), 'typescript/bin/tsc');
    const checked = await execFileAsync(process.execPath, [tsc, '-p', project], {
      cwd: project,
      timeout: 120_000,
    }).catch((error: { stdout: string }) => ({ stdout: error.stdout, failed: true }));
    assert.ok(!('failed' in checked), `the consumer type-checks against the shipped .d.ts:\n${checked.stdout}`);
    const deep = await execFileAsync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "import('porthole/dist/src/gateway/keeper.js').then(() => console.log('open'), (e) => console.log(e.code))",
      ],
      { cwd: project },
    );
    assert.equal(deep.stdout.trim(), 'ERR_PACKAGE_PATH_NOT_EXPORTED', 'private files stay private');
    // The installed command is the bundle, and it runs from there (its chunks and dependencies resolve).
    const bin = join(project, 'node_modules/porthole/dist/cli/main.js');
    const version = await execFileAsync(bin, ['--version'], { cwd: project });
    assert.match(version.stdout, /^\d+\.\d+\.\d+/);
    const parsed = await execFileAsync(
      bin,
      ['manifest', 'validate', join(ROOT, 'examples/web-server.yaml'), '--json'],
      { cwd: project },
    );
    assert.equal((JSON.parse(parsed.stdout) as { valid?: boolean; name?: string }).name !== undefined, true);
  });

  it('a PortholeError from a second installed copy is recognised by the first', async () => {
    cpSync(join(project, 'node_modules/porthole'), join(project, 'node_modules/porthole-copy'), { recursive: true });
    writeFileSync(
      join(project, 'copies.mjs'),
      [
        "import { isPortholeError, PortholeError } from 'porthole';",
        "import { mapPort, PortholeError as Other } from 'porthole-copy';",
        'const error = await mapPort({ port: 0 }).catch((e) => e);',
        'console.log(JSON.stringify({ distinct: Other !== PortholeError, instance: error instanceof PortholeError, guard: isPortholeError(error), code: error.code }));',
      ].join('\n'),
    );
    const { stdout } = await execFileAsync(process.execPath, [join(project, 'copies.mjs')], { cwd: project });
    assert.deepEqual(JSON.parse(stdout), { distinct: true, instance: true, guard: true, code: 'E_PORT_SPEC' });
  });

  it('installer.mjs: maps 7001 and the checker proves it reaches this host, before any server runs', async () => {
    const { lab } = env;
    const run = await node(lab, project, 'installer.mjs', ['7001'], stateEnv);
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
    const result = JSON.parse(run.stdout) as {
      mapping: { method: string; externalIp: string; externalPort: number };
      reachable: boolean;
      results: { port: number; state: string; verified: boolean | null }[];
    };
    assert.equal(result.reachable, true);
    assert.equal(result.mapping.externalIp, lab.addresses.publicIp);
    assert.deepEqual(
      result.results.map((r) => [r.port, r.state, r.verified]),
      [[7001, 'open', true]],
    );
    assert.match(run.stderr, /table inet porthole_/, 'the firewall rules it would install');
    // Recorded like `porthole map`: the CLI lists it and removes it.
    const unmapped = await porthole(lab, 'lan', ['unmap', '7001', '--json']);
    assert.equal(unmapped.code, 0, unmapped.stderr);
    assert.equal((JSON.parse(unmapped.stdout) as { removed: unknown[] }).removed.length, 1);
  });

  it('keeper.mjs: keeps 7002 mapped across renewals and a router restart, removes it on SIGTERM', async () => {
    const { lab } = env;
    const pid = lab.startBackground('lan', 'keeper', 'env', [
      ...Object.entries(stateEnv).map(([k, v]) => `${k}=${v}`),
      process.execPath,
      join(project, 'keeper.mjs'),
      '7002',
      '6',
      'natpmp',
    ]);
    assert.ok(await waitForLog(lab, 'keeper', /"event":"mapped"/, 20), `mapped:\n${lab.log('keeper')}`);
    assert.ok(await waitForPublicPort(lab, 7002, true, 5), `reachable:\n${lab.log('keeper')}`);
    assert.ok(
      await waitForLog(lab, 'keeper', /"event":"renewed"/, 8),
      `renewed at half the 6 s lease:\n${lab.log('keeper')}`,
    );
    const owned = readdirSync(join(stateEnv.XDG_STATE_HOME as string, 'porthole/owned'));
    assert.equal(owned.length, 1, 'recorded with its pid while it runs');
    await lab.restartRouterDaemon();
    assert.ok(
      await waitForLog(lab, 'keeper', /"event":"remapped"/, 8),
      `re-made after the restart:\n${lab.log('keeper')}`,
    );
    assert.ok(await waitForPublicPort(lab, 7002, true, 6), 'reachable again');
    process.kill(pid, 'SIGTERM');
    assert.ok(await waitForLog(lab, 'keeper', /"event":"removed"/, 8), `removed:\n${lab.log('keeper')}`);
    assert.ok(await waitForPublicPort(lab, 7002, false, 6), 'closed after the removal');
    assert.deepEqual(readdirSync(join(stateEnv.XDG_STATE_HOME as string, 'porthole/owned')), [], 'record forgotten');
  });

  it('health.mjs: GET /health reports reachable with the public address once the port is mapped', async () => {
    const { lab } = env;
    await lab.startBackgroundUntil(
      'lan',
      'health',
      'env',
      [...Object.entries(stateEnv).map(([k, v]) => `${k}=${v}`), process.execPath, join(project, 'health.mjs'), '7003'],
      'listening on 7003',
    );
    const before = await lab.exec('lan', 'curl', ['-s', '-w', '\n%{http_code}', 'http://127.0.0.1:7003/health'], {
      timeoutMs: 30_000,
    });
    const [beforeBody = '', beforeStatus] = before.stdout.trim().split('\n');
    assert.equal(beforeStatus, '503', beforeBody);
    assert.equal((JSON.parse(beforeBody) as { reachable: boolean }).reachable, false);
    const mapped = await porthole(lab, 'lan', ['map', '7003', '--json']);
    assert.equal(mapped.code, 0, mapped.stderr);
    const after = await lab.exec('lan', 'curl', ['-s', '-w', '\n%{http_code}', 'http://127.0.0.1:7003/health'], {
      timeoutMs: 30_000,
    });
    const [body = '', status] = after.stdout.trim().split('\n');
    assert.equal(status, '200', body);
    const health = JSON.parse(body) as { reachable: boolean; publicAddress: string; results: { state: string }[] };
    assert.equal(health.reachable, true);
    assert.equal(health.publicAddress, lab.addresses.publicIp);
    assert.equal((await connect(lab, 'internet', lab.addresses.publicIp, 7003, 2)).outcome, 'connected');
  });

  it('porthole cleanup: removes what a SIGKILLed keeper and a dead egress process left, and keeps what it cannot remove', async () => {
    const { lab } = env;
    const owned = join(stateEnv.XDG_STATE_HOME as string, 'porthole/owned');
    const pid = lab.startBackground('lan', 'killed-keeper', 'env', [
      ...Object.entries(stateEnv).map(([k, v]) => `${k}=${v}`),
      process.execPath,
      join(project, 'keeper.mjs'),
      '7004',
      '60',
      'natpmp',
    ]);
    assert.ok(await waitForLog(lab, 'killed-keeper', /"event":"mapped"/, 20), lab.log('killed-keeper'));
    process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 50 && lab.log('killed-keeper') !== '' && processAlive(pid); i++) await sleep(100);
    const routerRules = async () => (await lab.exec('router', 'nft', ['list', 'ruleset'])).stdout;
    assert.match(await routerRules(), /dport 7004/, 'the killed keeper left its mapping on the router');
    // A dead egress listener's redirect table, and a record whose router is not this network's.
    await lab.exec('lan', 'nft', ['add', 'table', 'ip', 'porthole_egress_4194303']);
    const unreachable = {
      kind: 'mapping',
      id: '4194302-deadbeef',
      pid: 4194302,
      processStart: null,
      createdAt: new Date().toISOString(),
      mapping: {
        method: 'natpmp',
        gateway: '192.168.77.99',
        protocol: 'tcp',
        internalAddress: '192.168.77.10',
        internalPort: 7005,
        externalPort: 7005,
        externalIp: '',
        lifetime: 60,
      },
    };
    writeFileSync(join(owned, '4194302-deadbeef.json'), JSON.stringify(unreachable));

    // The next command that works on the router notices, and says the fix; stdout stays one document.
    const listed = await porthole(lab, 'lan', ['mappings', '--json']);
    assert.match(
      listed.stderr,
      /left behind by porthole processes that no longer run: mapping 7004\/tcp.*porthole cleanup/,
    );
    assert.ok(JSON.parse(listed.stdout));

    const cleaned = await porthole(lab, 'lan', ['cleanup', '--json']);
    assert.equal(cleaned.code, 1, `one thing could not be removed:\n${cleaned.stdout}${cleaned.stderr}`);
    const report = JSON.parse(cleaned.stdout) as {
      removed: { kind: string; what: string; pid: number }[];
      failed: { kind: string; what: string; error: { message: string } }[];
    };
    assert.deepEqual(report.removed.map((item) => [item.kind, item.pid]).sort(), [
      ['mapping', pid],
      ['redirect', 4194303],
    ]);
    assert.deepEqual(
      report.failed.map((item) => item.kind),
      ['mapping'],
    );
    assert.match(report.failed[0]?.error.message ?? '', /192\.168\.77\.99/);
    assert.doesNotMatch(await routerRules(), /dport 7004/, 'the mapping is gone from the router');
    assert.doesNotMatch((await lab.exec('lan', 'nft', ['list', 'tables'])).stdout, /porthole_egress_4194303/);
    assert.deepEqual(readdirSync(owned), ['4194302-deadbeef.json'], 'the failed one keeps its record');
    const again = await porthole(lab, 'lan', ['cleanup', '--json']);
    assert.deepEqual((JSON.parse(again.stdout) as { removed: unknown[] }).removed, []);
  });
});
