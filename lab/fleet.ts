/**
 * The fleet lab on top of a running home lab: nats-server on the internet host (TLS with a
 * lab CA, accounts, per-role permissions, JetStream) and three vantage namespaces on their own "internet"
 * subnets, joined to the internet host by veth pairs and routed both ways. The third sits
 * behind an upstream filter that drops TCP 25 and 7002 towards the home network, so its
 * verdicts differ. Namespaces are `${lab.id}-v1..3`; stop() (also run on exit) removes them.
 *
 *   v1 198.51.100.2 ─┐
 *   v2 192.0.2.2    ─┼─ internet (203.0.113.254: nats-server, front) ── router ── lan
 *   v3 198.18.0.2   ─┘  (upstream filter in v3: tcp 25, 7002 to 203.0.113.1 dropped)
 */

import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createUser } from '@nats-io/nkeys';
import { sleep } from '../src/deadline/index.js';
import { processAlive } from '../src/system/index.js';
import { type RunOptions, type RunResult, run, runChecked, runSyncQuiet, startDaemon, veth } from './exec.js';
import type { Lab } from './lab.js';
import { PORTHOLE_SOURCE } from './porthole.js';
import { killAndWait } from './processes.js';

/** One vantage namespace. */
export interface FleetVantageHost {
  /** Vantage name (also the namespace suffix). */
  readonly name: string;
  readonly region: string;
  readonly namespace: string;
  /** Its address on its own subnet. */
  readonly address: string;
  /** The internet host's address on that subnet (its gateway). */
  readonly gateway: string;
  /** Whether the upstream filter (tcp 25, 7002 towards the home network dropped) sits in front of it. */
  readonly filtered: boolean;
  /** The NATS auth file it connects with. */
  readonly authFile: string;
}

/** The fleet lab's parts. */
export interface FleetLab {
  readonly vantages: readonly FleetVantageHost[];
  /** nats://203.0.113.254:4222 */
  readonly natsUrl: string;
  /** Auth files: the front's, and one with a wrong password. */
  readonly frontAuth: string;
  readonly wrongAuth: string;
  /** The lab CA that signed nats-server's certificate (clients pass it as --nats-ca). */
  readonly caFile: string;
  /** The front's signing key (made here, so vantages can be given FILE.pub before the front starts). */
  readonly signingKey: string;
  /** The front's HTTP URL once started. */
  readonly frontUrl: string;
  startNats(): Promise<void>;
  /** Kills nats-server (SIGKILL: as a crash) and waits until it has gone. */
  killNats(): Promise<void>;
  /** Starts `porthole serve --nats … --front` on the internet host and waits until it listens. */
  startFront(extra?: readonly string[]): Promise<void>;
  /**
   * Starts a vantage and waits until it is connected: by default the host's own; `as` runs
   * another vantage of the host's region (same namespace and credentials) under that name.
   */
  startVantage(name: string, extra?: readonly string[], as?: string): Promise<void>;
  /** Kills a vantage process (SIGKILL) and waits until it has gone. */
  killVantage(name: string): Promise<void>;
  /** Runs a command in a vantage's namespace. */
  exec(name: string, command: string, args?: readonly string[], options?: RunOptions): Promise<RunResult>;
  /** A process's log so far. */
  log(name: string): string;
  stop(): void;
}

const NATS_PORT = 4222;
const FRONT_PORT = 8080;
const INTERNET_HOST = '203.0.113.254';
const HOME_PUBLIC = '203.0.113.1';
const CLI = PORTHOLE_SOURCE;

/** The three vantages: name, region, subnet (/24, .1 on the internet side, .2 the vantage). */
const VANTAGES = [
  { name: 'v1', region: 'eu', subnet: '198.51.100', filtered: false },
  { name: 'v2', region: 'us', subnet: '192.0.2', filtered: false },
  { name: 'v3', region: 'ap', subnet: '198.18.0', filtered: true },
] as const;

/** nats-server's configuration: one account, a user per role, permissions per role. */
export function natsServerConfig(options: {
  readonly dir: string;
  readonly frontPassword: string;
  readonly v1NkeyPublic: string;
  readonly vantagePasswords: Readonly<Record<string, string>>;
  /** Server certificate and key (PEM): clients must then speak TLS and trust the lab's CA. */
  readonly tls?: { readonly cert: string; readonly key: string };
}): string {
  // Vantages may take orders and report health; answers go only to the reply subject of an
  // order they were given (allow_responses), so they can neither send orders nor forge them.
  const vantage = `permissions: {
        publish: { allow: ["porthole.health.>"] }
        subscribe: { allow: ["porthole.check.>", "porthole.discover"] }
        allow_responses: { max: 1000, expires: "5m" }
      }`;
  const front = `permissions: {
        publish: { allow: ["porthole.check.>", "porthole.discover", "$JS.API.>", "$KV.porthole_limits.>", "$KV.porthole_checks.>"] }
        subscribe: { allow: ["_INBOX.>", "porthole.health.*"] }
      }`;
  return `listen: "${INTERNET_HOST}:${NATS_PORT}"
server_name: porthole_lab
${options.tls ? `tls { cert_file: "${options.tls.cert}", key_file: "${options.tls.key}" }\n` : ''}jetstream { store_dir: "${join(options.dir, 'nats-js')}" }
accounts {
  FLEET {
    jetstream: enabled
    users: [
      { user: front, password: "${options.frontPassword}", ${front} }
      { nkey: ${options.v1NkeyPublic}, ${vantage} }
${Object.entries(options.vantagePasswords)
  .map(([user, password]) => `      { user: ${user}, password: "${password}", ${vantage} }`)
  .join('\n')}
    ]
  }
}
`;
}

/** A lab CA and a certificate for nats-server's address signed by it (EC P-256, valid a day). */
async function makeCertificates(dir: string): Promise<{ ca: string; cert: string; key: string }> {
  const path = (name: string) => join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await runChecked('openssl', [
    'req',
    '-x509',
    ...ec,
    '-days',
    '1',
    '-subj',
    '/CN=porthole lab CA',
    '-keyout',
    path('nats-ca.key'),
    '-out',
    path('nats-ca.pem'),
  ]);
  await runChecked('openssl', [
    'req',
    ...ec,
    '-subj',
    '/CN=nats',
    '-keyout',
    path('nats-server.key'),
    '-out',
    path('nats-server.csr'),
  ]);
  writeFileSync(path('nats-server.ext'), `subjectAltName=IP:${INTERNET_HOST}\n`);
  await runChecked('openssl', [
    'x509',
    '-req',
    '-in',
    path('nats-server.csr'),
    '-CA',
    path('nats-ca.pem'),
    '-CAkey',
    path('nats-ca.key'),
    '-CAcreateserial',
    '-days',
    '1',
    '-extfile',
    path('nats-server.ext'),
    '-out',
    path('nats-server.pem'),
  ]);
  return { ca: path('nats-ca.pem'), cert: path('nats-server.pem'), key: path('nats-server.key') };
}

/** Builds the vantage namespaces and writes nats-server's config; start daemons with the methods. */
export async function startFleetLab(lab: Lab): Promise<FleetLab> {
  const dir = lab.state.dir;
  const internet = lab.namespace('internet');
  const pids = new Map<string, number>();
  const hosts: FleetVantageHost[] = VANTAGES.map((v) => ({
    name: v.name,
    region: v.region,
    namespace: `${lab.id}-${v.name}`,
    address: `${v.subnet}.2`,
    gateway: `${v.subnet}.1`,
    filtered: v.filtered,
    authFile: join(dir, `nats-${v.name}.auth`),
  }));
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    for (const pid of pids.values()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    for (const host of hosts) {
      for (const pid of runSyncQuiet('ip', ['netns', 'pids', host.namespace]).split(/\s+/).filter(Boolean)) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
      runSyncQuiet('ip', ['netns', 'del', host.namespace]);
    }
  };
  process.once('exit', stop);

  // Credentials: the front by password, v1 by nkey, v2 and v3 by password; one wrong password.
  const secret = () => randomBytes(12).toString('hex');
  const frontPassword = secret();
  const v1 = createUser();
  const vantagePasswords = { v2: secret(), v3: secret() };
  const frontAuth = join(dir, 'nats-front.auth');
  const wrongAuth = join(dir, 'nats-wrong.auth');
  writeFileSync(frontAuth, `front:${frontPassword}\n`, { mode: 0o600 });
  writeFileSync(wrongAuth, `v2:${secret()}\n`, { mode: 0o600 });
  writeFileSync(join(dir, 'nats-v1.auth'), `${new TextDecoder().decode(v1.getSeed())}\n`, { mode: 0o600 });
  for (const [user, password] of Object.entries(vantagePasswords)) {
    writeFileSync(join(dir, `nats-${user}.auth`), `${user}:${password}\n`, { mode: 0o600 });
  }
  const config = join(dir, 'nats-server.conf');
  const tls = await makeCertificates(dir);
  writeFileSync(
    config,
    natsServerConfig({ dir, frontPassword, v1NkeyPublic: v1.getPublicKey(), vantagePasswords, tls }),
  );
  const signingKey = join(dir, 'front.key');

  try {
    await runChecked('ip', ['netns', 'exec', internet, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    for (const [index, host] of hosts.entries()) {
      const outside = `fv${index + 1}`;
      await runChecked('ip', ['netns', 'add', host.namespace]);
      await runChecked('ip', ['-n', host.namespace, 'link', 'set', 'lo', 'up']);
      await veth(internet, outside, host.namespace, 'eth0');
      await runChecked('ip', ['-n', internet, 'addr', 'add', `${host.gateway}/24`, 'dev', outside]);
      await runChecked('ip', ['-n', internet, 'link', 'set', outside, 'up']);
      await runChecked('ip', ['-n', host.namespace, 'addr', 'add', `${host.address}/24`, 'dev', 'eth0']);
      await runChecked('ip', ['-n', host.namespace, 'link', 'set', 'eth0', 'up']);
      await runChecked('ip', ['-n', host.namespace, 'route', 'add', 'default', 'via', host.gateway]);
      if (host.filtered) {
        // An upstream filter: this vantage's network drops SMTP and 7002 towards the home network.
        const ruleset = `table inet porthole_fleet_filter {
  chain output {
    type filter hook output priority 0; policy accept;
    ip daddr ${HOME_PUBLIC} tcp dport { 25, 7002 } drop
  }
}
`;
        await runChecked('ip', ['netns', 'exec', host.namespace, 'nft', '-f', '-'], { input: ruleset });
      }
    }
  } catch (error) {
    stop();
    throw error;
  }

  const hostOf = (name: string): FleetVantageHost => {
    const host = hosts.find((h) => h.name === name);
    if (!host) throw new Error(`no vantage ${name}`);
    return host;
  };
  const logOf = (name: string) => lab.log(name);
  const waitForLog = async (name: string, pid: number, ready: RegExp, what: string) => {
    // Bounded: 300 x 50 ms; node with tsx on a busy 2-core machine takes a few seconds.
    for (let i = 0; i < 300; i++) {
      if (ready.test(logOf(name))) return;
      if (!processAlive(pid)) break;
      await sleep(50);
    }
    throw new Error(`${what} did not become ready:\n${logOf(name).slice(-3000)}`);
  };
  const startIn = (namespace: string, name: string, command: string, args: readonly string[]) => {
    writeFileSync(lab.logPath(name), '');
    const child = startDaemon('ip', ['netns', 'exec', namespace, command, ...args], lab.logPath(name));
    if (child.pid === undefined) throw new Error(`${command} did not start`);
    pids.set(name, child.pid);
    return child.pid;
  };
  const natsUrl = `nats://${INTERNET_HOST}:${NATS_PORT}`;

  return {
    vantages: hosts,
    natsUrl,
    frontAuth,
    wrongAuth,
    caFile: tls.ca,
    signingKey,
    frontUrl: `http://${INTERNET_HOST}:${FRONT_PORT}`,
    async startNats() {
      const pid = startIn(internet, 'nats-server', 'nats-server', ['-c', config]);
      await waitForLog('nats-server', pid, /Server is ready/, 'nats-server');
    },
    async killNats() {
      await killAndWait(pids.get('nats-server'));
      pids.delete('nats-server');
    },
    async startFront(extra = []) {
      const pid = startIn(internet, 'front', process.execPath, [
        '--import',
        'tsx',
        CLI,
        'serve',
        '--nats',
        natsUrl,
        '--nats-auth',
        frontAuth,
        '--nats-ca',
        tls.ca,
        '--front',
        '--signing-key',
        signingKey,
        '--listen',
        `${INTERNET_HOST}:${FRONT_PORT}`,
        '--log-level',
        'warn',
        '--allow-targets',
        '203.0.113.0/24',
        ...extra,
      ]);
      await waitForLog('front', pid, /fleet front listening on/, 'the front');
    },
    async startVantage(name, extra = [], as = name) {
      const host = hostOf(name);
      const pid = startIn(host.namespace, as, process.execPath, [
        '--import',
        'tsx',
        CLI,
        'serve',
        '--nats',
        natsUrl,
        '--nats-auth',
        host.authFile,
        '--nats-ca',
        tls.ca,
        '--vantage',
        as,
        '--region',
        host.region,
        '--front-key',
        `${signingKey}.pub`,
        ...extra,
      ]);
      await waitForLog(as, pid, /serving checks from/, `vantage ${as}`);
    },
    async killVantage(name) {
      await killAndWait(pids.get(name));
      pids.delete(name);
    },
    exec: (name, command, args = [], options = {}) =>
      run('ip', ['netns', 'exec', hostOf(name).namespace, command, ...args], options),
    log: logOf,
    stop,
  };
}
