/**
 * `sudo npm run demo`: porthole's first minute, for real. Brings up the home lab (a LAN, a router
 * running miniupnpd, an "internet" with a STUN server), starts a check service on the internet
 * host, runs a server in the LAN, makes it reachable with `porthole expose`, shows the doctor's
 * checklist, breaks the host firewall and shows the doctor naming it, then tears everything down.
 * Traffic stays inside the lab's network namespaces.
 */

import { spawn } from 'node:child_process';
import { labUnavailableReason, startLab } from '../lab/lab.js';
import { PORTHOLE_SOURCE, startLabChecker } from '../lab/porthole.js';
import { PLAN } from '../lab/topology.js';
import { sleep } from '../src/deadline/index.js';

const CLI = PORTHOLE_SOURCE;
const PORT = '7001';
const bold = (text: string) => (process.stdout.isTTY && !process.env.NO_COLOR ? `\u001b[1m${text}\u001b[22m` : text);

const reason = labUnavailableReason();
if (reason) {
  process.stderr.write(
    [
      `The demo builds a small network lab and cannot run here: ${reason}.`,
      'It needs Linux, root (network namespaces and nftables), and the lab packages (miniupnpd, coturn,',
      'socat, nftables; `bash .ci/run` installs them). Run: sudo npm run demo',
      '',
    ].join('\n'),
  );
  process.exit(2);
}

function step(title: string): void {
  process.stdout.write(`\n${bold(`== ${title}`)}\n`);
}

/** Runs porthole inside the LAN host and shows its output as it comes (bounded: 90 s). */
function porthole(namespace: string, env: Record<string, string>, args: readonly string[]): Promise<number | null> {
  process.stdout.write(`${bold(`lan$ porthole ${args.join(' ')}`)}\n`);
  return new Promise((resolve) => {
    const child = spawn('ip', ['netns', 'exec', namespace, process.execPath, '--import', 'tsx', CLI, ...args], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, ...env },
    });
    const timer = setTimeout(() => child.kill('SIGINT'), 90_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

step('Bringing up the home lab: LAN 192.168.77.0/24, a router with UPnP IGD / NAT-PMP / PCP, an "internet"');
const lab = await startLab({ topology: 'home' });
try {
  const lan = lab.state.namespaces.lan as string;
  const checker = `http://${PLAN.internetHost}:8080`;
  // The LAN user's own settings, set once: no --checker or --stun on the commands below.
  const env = {
    XDG_CONFIG_HOME: `${lab.state.dir}/config-lan`,
    XDG_STATE_HOME: `${lab.state.dir}/state-lan`,
  };

  step(`A check service on the internet host (${checker}), as a vendor would run it`);
  await startLabChecker(lab);
  process.stdout.write(`checker up; STUN (coturn) on ${PLAN.internetHost}:3478\n`);

  step('Set up once: the checker and STUN server in the configuration file');
  await porthole(lan, env, ['config', 'set', 'checker', checker]);
  await porthole(lan, env, ['config', 'set', 'stun', PLAN.internetHost]);

  step(`A real server in the LAN, listening on ${PORT}`);
  lab.startBackground('lan', 'server', 'socat', [
    `TCP-LISTEN:${PORT},fork,reuseaddr`,
    'SYSTEM:echo hello from the media server',
  ]);
  await sleep(300);
  process.stdout.write(`server listening on ${lab.addresses.lan}:${PORT}\n`);

  step('Make it reachable: host firewall, router mapping, and proof from outside');
  await porthole(lan, env, ['expose', PORT, '--firewall', 'nftables']);

  step("The doctor's checklist, hop by hop");
  await porthole(lan, env, ['doctor', PORT]);

  step('Break one hop: a host firewall rule that drops the port');
  const drop = `table inet demo_hostfw { chain input { type filter hook input priority -10; policy accept; tcp dport ${PORT} drop; }; }`;
  await lab.exec('lan', 'nft', ['-f', '-'], { input: drop });
  process.stdout.write(`lan# nft add table inet demo_hostfw ... tcp dport ${PORT} drop\n`);

  step('The doctor names the cause and the fix');
  const code = await porthole(lan, env, ['doctor', PORT]);
  process.stdout.write(`(exit ${code}: 1 means a check found a problem)\n`);
} finally {
  step('Tearing the lab down (namespaces, daemons, rules: nothing is left)');
  lab.stop();
}
