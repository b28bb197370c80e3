/**
 * Every command ends within its deadline, however the network fails it (issue 13): a router that
 * black-holes every packet from the LAN, and one that accepts every TCP connection and never
 * answers (a tarpit). Each command runs with --deadline and must end — with a coded error or a
 * result — no later than one second past it. The built CLI is timed, so start-up is small.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PLAN } from '../../lab/topology.js';
import { labSkip, serveChecker, useLab } from './support.js';

const BIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const DEADLINE_S = 4;
const CHECKER = `http://${PLAN.internetHost}:8080`;

/** The commands a user runs when something is wrong, each under the same deadline. */
const COMMANDS: readonly (readonly string[])[] = [
  ['gateway'],
  ['map', '7001'],
  ['mappings'],
  ['unmap', '7001'],
  ['nat', '--stun', PLAN.internetHost],
  ['check', '7001', '--checker', CHECKER],
  ['doctor', '7001', '--checker', CHECKER, '--stun', PLAN.internetHost],
  ['expose', '7001', '--checker', CHECKER, '--family', 'ipv4'],
];

describe('lab: every command ends within its deadline', { skip: labSkip() }, () => {
  const env = useLab({ topology: 'home' });
  before(async () => {
    await serveChecker(env.lab);
  });

  async function timeAll(label: string): Promise<void> {
    const { lab } = env;
    const started = await lab.exec('lan', process.execPath, [BIN, '--version'], { timeoutMs: 10_000 });
    const startup = started.ms / 1000;
    const runs = [];
    // One at a time: on two cores, parallel start-ups would be timed as the command's own delay.
    for (const args of COMMANDS) {
      const run = await lab.exec('lan', process.execPath, [BIN, ...args, '--deadline', String(DEADLINE_S), '--json'], {
        timeoutMs: 30_000,
        env: { XDG_STATE_HOME: `${lab.state.dir}/state-deadline`, XDG_CONFIG_HOME: `${lab.state.dir}/config-deadline` },
      });
      runs.push({ args, run });
      const seconds = run.ms / 1000;
      assert.ok(
        seconds <= DEADLINE_S + 1 + startup,
        `${label}: porthole ${args.join(' ')} took ${seconds.toFixed(1)} s (deadline ${DEADLINE_S} s, start-up ${startup.toFixed(1)} s): ${run.stdout}${run.stderr}`,
      );
      assert.notEqual(run.code, 0, `${label}: porthole ${args.join(' ')} claims success: ${run.stdout}`);
      assert.doesNotThrow(() => JSON.parse(run.stdout), `${label}: one JSON document: ${run.stdout}`);
    }
    process.stderr.write(
      `# ${label}: ${runs.map(({ args, run }) => `${args[0]} ${(run.ms / 1000).toFixed(1)} s`).join(', ')}\n`,
    );
  }

  it('a router that black-holes every packet from the LAN', async () => {
    const { lab } = env;
    const rules = `table inet porthole_blackhole {
  chain input { type filter hook input priority -10; policy accept; iifname "br0" drop; }
  chain forward { type filter hook forward priority -10; policy accept; iifname "br0" drop; }
}
`;
    assert.equal((await lab.exec('router', 'nft', ['-f', '-'], { input: rules })).code, 0);
    try {
      await timeAll('black hole');
    } finally {
      await lab.exec('router', 'nft', ['delete', 'table', 'inet', 'porthole_blackhole']);
    }
  });

  it('a router that accepts every TCP connection and never answers (tarpit)', async () => {
    const { lab } = env;
    lab.startBackground('router', 'tarpit', 'socat', ['TCP-LISTEN:9999,fork,reuseaddr', 'SYSTEM:sleep 3600']);
    const rules = `table ip porthole_tarpit {
  chain pre { type nat hook prerouting priority dstnat - 10; policy accept; iifname "br0" meta l4proto tcp redirect to :9999; }
}
table inet porthole_tarpit_udp {
  chain input { type filter hook input priority -10; policy accept; iifname "br0" meta l4proto udp drop; }
  chain forward { type filter hook forward priority -10; policy accept; iifname "br0" meta l4proto udp drop; }
}
`;
    assert.equal((await lab.exec('router', 'nft', ['-f', '-'], { input: rules })).code, 0);
    try {
      await timeAll('tarpit');
    } finally {
      await lab.exec('router', 'nft', ['delete', 'table', 'ip', 'porthole_tarpit']);
      await lab.exec('router', 'nft', ['delete', 'table', 'inet', 'porthole_tarpit_udp']);
    }
  });
});
