/**
 * Discovery responders in the home lab, for tests and the bench: on lan2, avahi-daemon
 * publishing a DNS-SD service from a static service file, minidlna answering SSDP, wsdd
 * answering WS-Discovery (wsdp:Device) and our ONVIF camera responder; on lan, a private
 * D-Bus and a second avahi-daemon so the real `avahi-browse` can run as the peer.
 *
 * avahi-daemon has its pid file and services folder compiled in (/run/avahi-daemon,
 * /etc/avahi). `ip netns exec` gives each command its own mount namespace (slave to the host,
 * so nothing propagates back), and inside it we bind our own folder over /etc/avahi and a tmpfs
 * over /run: two daemons in two namespaces never meet, and the host's avahi is untouched.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sleep } from '../src/deadline/index.js';
import type { MulticastHost } from '../src/discovery/index.js';
import type { Lab } from './lab.js';
import { IFACE } from './routerConfig.js';
import type { HostName } from './topology.js';

/** What the lab publishes, for assertions. */
export const DISCOVERY_LAB = {
  mdnsType: '_porthole-lab._tcp',
  mdnsName: 'porthole lab media',
  mdnsPort: 7001,
  mdnsTxt: 'id=lab',
  mdnsHost: 'lab-lan2',
  minidlnaPort: 8200,
  minidlnaUuid: '4d696e69-444c-164e-9d41-0000000c0ffe',
  wsddUuid: '2f3c6a7e-7b1d-4c55-9f2a-00000000d15c',
  wsddHttpPort: 5357,
} as const;

const CAMERA = fileURLToPath(new URL('../test/fixtures/discovery/onvifResponder.ts', import.meta.url));

function avahiConfig(hostName: string, dbus: boolean, iface: string): string {
  return [
    '[server]',
    `host-name=${hostName}`,
    'domain-name=local',
    'use-ipv4=yes',
    'use-ipv6=yes',
    `allow-interfaces=${iface}`,
    `enable-dbus=${dbus ? 'yes' : 'no'}`,
    // The lab's runs query often; avahi's default limit would start dropping answers.
    'ratelimit-interval-usec=1000000',
    'ratelimit-burst=1000',
    '[publish]',
    'publish-hinfo=no',
    'publish-workstation=no',
    '',
  ].join('\n');
}

function serviceFile(): string {
  return `<?xml version="1.0" standalone='no'?>
<service-group>
  <name>${DISCOVERY_LAB.mdnsName}</name>
  <service>
    <type>${DISCOVERY_LAB.mdnsType}</type>
    <port>${DISCOVERY_LAB.mdnsPort}</port>
    <txt-record>${DISCOVERY_LAB.mdnsTxt}</txt-record>
  </service>
</service-group>
`;
}

/** A private system bus: only our avahi-daemon and avahi-browse use it. */
function dbusConfig(socket: string): string {
  return `<busconfig>
  <type>system</type>
  <listen>unix:path=${socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
`;
}

/** The private folder of one avahi-daemon, and the bus address when it has one. */
export interface AvahiInstance {
  readonly dir: string;
  readonly busAddress: string | undefined;
  /** The daemon's pid (it changes on restart). */
  pid: number;
}

async function waitForLog(lab: Lab, name: string, text: string | RegExp, what: string): Promise<void> {
  // Bounded: 100 x 100 ms.
  for (let i = 0; i < 100; i++) {
    const log = lab.log(name);
    if (typeof text === 'string' ? log.includes(text) : text.test(log)) return;
    await sleep(100);
  }
  throw new Error(`${what} did not become ready:\n${lab.log(name)}`);
}

/** Starts avahi-daemon in `host` with its own config (and a private bus when `dbus`). */
export async function startAvahi(
  lab: Lab,
  host: HostName,
  options: { readonly dbus: boolean; readonly publish: boolean; readonly hostName: string; readonly iface?: string },
): Promise<AvahiInstance> {
  const dir = join(lab.state.dir, `avahi-${host}`);
  mkdirSync(join(dir, 'services'), { recursive: true });
  writeFileSync(
    join(dir, 'avahi-daemon.conf'),
    avahiConfig(options.hostName, options.dbus, options.iface ?? IFACE.host),
  );
  if (options.publish) writeFileSync(join(dir, 'services', 'porthole-lab.service'), serviceFile());
  let busAddress: string | undefined;
  if (options.dbus) {
    const socket = join(dir, 'bus');
    writeFileSync(join(dir, 'dbus.conf'), dbusConfig(socket));
    lab.startBackground(host, `dbus-${host}`, 'dbus-daemon', [
      `--config-file=${join(dir, 'dbus.conf')}`,
      '--nofork',
      '--nopidfile',
      '--print-address=1',
    ]);
    await waitForLog(lab, `dbus-${host}`, 'unix:path=', `dbus-daemon on ${host}`);
    busAddress = `unix:path=${socket}`;
  }
  const pid = await startAvahiDaemon(lab, host, dir, busAddress, `avahi-${host}`);
  if (options.publish)
    await waitForLog(lab, `avahi-${host}`, /Service ".*" .* successfully established/, 'avahi service');
  return { dir, busAddress, pid };
}

/**
 * Starts the daemon itself (its folder already written); returns its pid: `ip netns exec` and
 * `sh -c 'exec …'` both replace themselves, so the pid started is avahi-daemon's.
 */
async function startAvahiDaemon(
  lab: Lab,
  host: HostName,
  dir: string,
  busAddress: string | undefined,
  logName: string,
): Promise<number> {
  const script = [
    'set -e',
    `mount --bind ${dir} /etc/avahi`,
    'mount -t tmpfs porthole-avahi /run',
    // The bus socket lives in our folder, which /run's tmpfs hides; it is reached through /etc/avahi.
    ...(busAddress ? ['export DBUS_SYSTEM_BUS_ADDRESS=unix:path=/etc/avahi/bus'] : []),
    'exec avahi-daemon --no-drop-root --no-chroot --no-proc-title --no-rlimits -f /etc/avahi/avahi-daemon.conf',
  ].join('\n');
  const pid = lab.startBackground(host, logName, 'sh', ['-c', script]);
  await waitForLog(lab, logName, 'Server startup complete', `avahi-daemon on ${host}`);
  return pid;
}

/** Restarts the avahi-daemon of `host` (an empty cache: what it finds next comes from the network). */
export async function restartAvahi(lab: Lab, host: HostName, instance: AvahiInstance, round: number): Promise<void> {
  // By pid, never by name: pidof would also see the daemons of other namespaces (and the host's).
  process.kill(instance.pid, 'SIGTERM');
  // Bounded: 50 x 100 ms.
  for (let i = 0; i < 50; i++) {
    try {
      process.kill(instance.pid, 0);
    } catch {
      break;
    }
    await sleep(100);
  }
  instance.pid = await startAvahiDaemon(lab, host, instance.dir, instance.busAddress, `avahi-${host}-${round}`);
}

/** Reads multicast facts inside a lab host, for the multicast checks. */
export function labMulticastHost(lab: Lab, host: HostName): MulticastHost {
  return {
    readProc: async (path) => (await lab.exec(host, 'cat', [path])).stdout,
    runner: (command, args, options) =>
      lab.exec(host, command, args, options?.input === undefined ? {} : { input: options.input }),
  };
}

/**
 * Gives `host` a second interface (a veth pair inside its namespace, deleted with it) with a
 * /32 inside the lab's LAN, so a server can face two networks and listen on only one.
 */
export async function addSecondInterface(lab: Lab, host: HostName, name = 'eth1'): Promise<string> {
  const address = '192.168.77.211';
  const steps = [
    ['link', 'add', name, 'type', 'veth', 'peer', 'name', `${name}p`],
    ['addr', 'add', `${address}/32`, 'dev', name],
    ['link', 'set', `${name}p`, 'up'],
    ['link', 'set', name, 'up'],
  ];
  for (const step of steps) {
    const result = await lab.exec(host, 'ip', step);
    if (result.code !== 0) throw new Error(`ip ${step.join(' ')}: ${result.stderr}`);
  }
  return address;
}

/** Everything started, for tests. */
export interface DiscoveryResponders {
  readonly server: HostName;
  readonly client: HostName;
  readonly serverAddress: string;
  readonly avahiServer: AvahiInstance;
  readonly avahiClient: AvahiInstance;
}

/** Multicast needs a route in each host and must not be pruned by the bridge's IGMP snooping. */
export async function enableLabMulticast(lab: Lab): Promise<void> {
  await lab.exec('router', 'ip', ['link', 'set', IFACE.lanBridge, 'type', 'bridge', 'mcast_snooping', '0']);
  for (const host of ['lan', 'lan2'] as const) {
    // The default route already covers multicast; an explicit one says which interface is meant.
    await lab.exec(host, 'ip', ['route', 'replace', '224.0.0.0/4', 'dev', IFACE.host]);
  }
}

/** Starts every responder on lan2 and the avahi-browse peer's daemon on lan. */
export async function startDiscoveryResponders(lab: Lab): Promise<DiscoveryResponders> {
  await enableLabMulticast(lab);
  const server: HostName = 'lan2';
  const serverAddress = lab.addresses.lan2;

  // minidlna: one empty media folder, its database in the lab's folder, SSDP on eth0.
  const dlna = join(lab.state.dir, 'minidlna');
  mkdirSync(join(dlna, 'media'), { recursive: true });
  mkdirSync(join(dlna, 'db'), { recursive: true });
  writeFileSync(
    join(dlna, 'minidlna.conf'),
    [
      `media_dir=${join(dlna, 'media')}`,
      `db_dir=${join(dlna, 'db')}`,
      `log_dir=${dlna}`,
      `network_interface=${IFACE.host}`,
      `port=${DISCOVERY_LAB.minidlnaPort}`,
      'friendly_name=porthole lab DLNA',
      `uuid=${DISCOVERY_LAB.minidlnaUuid}`,
      'notify_interval=60',
      'inotify=no',
      '',
    ].join('\n'),
  );
  lab.startBackground(server, 'minidlna', 'minidlnad', [
    '-d',
    '-f',
    join(dlna, 'minidlna.conf'),
    '-P',
    join(dlna, 'minidlna.pid'),
  ]);

  // wsdd's HTTP server looks its own address up (Python's HTTPServer calls getfqdn), and the
  // namespace has no resolver: the lookup would stall wsdd's event loop for seconds. A hosts file
  // of our own answers it, and a resolver on loopback makes any other lookup fail at once.
  const names = join(lab.state.dir, 'wsdd');
  mkdirSync(names, { recursive: true });
  writeFileSync(join(names, 'hosts'), `127.0.0.1 localhost\n${serverAddress} lab-lan2\n`);
  writeFileSync(join(names, 'resolv.conf'), 'nameserver 127.0.0.1\n');
  const wsdd = ['wsdd', '-i', IFACE.host, '-U', DISCOVERY_LAB.wsddUuid, '-n', 'LAB-LAN2', '-v'].join(' ');
  lab.startBackground(server, 'wsdd', 'sh', [
    '-c',
    `set -e\nmount --bind ${join(names, 'hosts')} /etc/hosts\nmount --bind ${join(names, 'resolv.conf')} /etc/resolv.conf\nexec ${wsdd}`,
  ]);
  await lab.startBackgroundUntil(
    server,
    'onvif-camera',
    process.execPath,
    ['--import', 'tsx', CAMERA, serverAddress, '3702', '239.255.255.250'],
    'ready',
  );
  const avahiServer = await startAvahi(lab, server, { dbus: false, publish: true, hostName: DISCOVERY_LAB.mdnsHost });
  const avahiClient = await startAvahi(lab, 'lan', { dbus: true, publish: false, hostName: 'lab-lan' });
  await waitForLog(lab, 'minidlna', /HTTP listening on port|Starting MiniDLNA/, 'minidlna');
  await waitForLog(lab, 'wsdd', 'scheduling Hello', 'wsdd');
  return { server, client: 'lan', serverAddress, avahiServer, avahiClient };
}
