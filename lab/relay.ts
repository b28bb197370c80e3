/**
 * Relay parts for the lab, started in a running Lab's namespaces with configs in its folder:
 * OpenSSH sshd (one relay), `porthole relay serve` (the other), squid (a venue's HTTP proxy),
 * nginx with `proxy_protocol` (a LAN server that logs the visitor's real address), a UDP echo,
 * and `porthole relay open` running in the background as a user would leave it.
 */

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sleep } from '../src/deadline/index.js';
import { processAlive } from '../src/system/index.js';
import type { Lab } from './lab.js';
import { PORTHOLE_SOURCE, startPortholeUntil } from './porthole.js';
import type { HostName } from './topology.js';

/** The porthole command line, run with tsx as the tests do. */

/** An SSH key pair made with ssh-keygen in the lab folder. */
export interface LabKey {
  readonly privateFile: string;
  readonly publicLine: string;
}

/** Makes an ed25519 key pair (no passphrase) named `name` in the lab folder. */
export async function makeKey(lab: Lab, name: string): Promise<LabKey> {
  const privateFile = join(lab.state.dir, `key-${name}`);
  const made = await lab.exec('internet', 'ssh-keygen', [
    '-q',
    '-t',
    'ed25519',
    '-N',
    '',
    '-C',
    name,
    '-f',
    privateFile,
  ]);
  if (made.code !== 0) throw new Error(`ssh-keygen failed: ${made.stderr}`);
  const { readFileSync } = await import('node:fs');
  return { privateFile, publicLine: readFileSync(`${privateFile}.pub`, 'utf8').trim() };
}

/** How an sshd relay is configured. */
export interface SshdOptions {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly authorizedKeys: readonly string[];
  /** sshd's GatewayPorts (the relay needs `clientspecified`). */
  readonly gatewayPorts?: 'no' | 'yes' | 'clientspecified';
  readonly allowTcpForwarding?: 'yes' | 'no' | 'remote';
}

/** Starts OpenSSH sshd in the internet namespace with its own host key, config and authorized_keys. */
export async function startSshd(lab: Lab, options: SshdOptions): Promise<number> {
  const dir = join(lab.state.dir, options.name);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // sshd's privilege-separation directory must exist (Debian creates it only in its unit).
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const hostKey = join(dir, 'ssh_host_ed25519_key');
  const made = await lab.exec('internet', 'ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
  if (made.code !== 0) throw new Error(`ssh-keygen failed: ${made.stderr}`);
  writeFileSync(join(dir, 'authorized_keys'), `${options.authorizedKeys.join('\n')}\n`, { mode: 0o600 });
  const config = [
    `ListenAddress ${options.address}:${options.port}`,
    `HostKey ${hostKey}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    `PidFile ${join(dir, 'sshd.pid')}`,
    'PermitRootLogin prohibit-password',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    // The lab folder is root's 0700 tmpfs, not a home directory: skip the ownership walk.
    'StrictModes no',
    `GatewayPorts ${options.gatewayPorts ?? 'clientspecified'}`,
    `AllowTcpForwarding ${options.allowTcpForwarding ?? 'yes'}`,
    'ClientAliveInterval 5',
    'ClientAliveCountMax 3',
    'LogLevel VERBOSE',
    '',
  ].join('\n');
  const file = join(dir, 'sshd_config');
  writeFileSync(file, config);
  return lab.startBackgroundUntil(
    'internet',
    options.name,
    '/usr/sbin/sshd',
    ['-D', '-e', '-f', file],
    'Server listening',
  );
}

/** Starts `porthole relay serve` in the internet namespace; ready when it logs "relay listening". */
export async function startPortholeRelay(
  lab: Lab,
  name: string,
  listen: readonly string[],
  tenantsYaml: string,
  extra: readonly string[] = [],
): Promise<number> {
  const dir = join(lab.state.dir, name);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tenants = join(dir, 'tenants.yaml');
  writeFileSync(tenants, tenantsYaml);
  return startPortholeUntil(
    lab,
    'internet',
    name,
    [
      'relay',
      'serve',
      '--listen',
      listen.join(','),
      '--tenants',
      tenants,
      '--data',
      dir,
      '--public-address',
      lab.addresses.internet,
      ...extra,
    ],
    'relay listening',
  );
}

/** Starts squid on the internet host as an HTTP proxy that allows CONNECT to any port (the venue's proxy). */
export async function startSquid(lab: Lab, port: number): Promise<number> {
  const dir = join(lab.state.dir, 'squid');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const config = [
    `http_port ${lab.addresses.internet}:${port}`,
    'acl CONNECT method CONNECT',
    'http_access allow CONNECT all',
    'http_access allow all',
    // squid drops to the proxy user, which cannot write in root's lab folder: no files at all.
    'pid_filename none',
    'access_log none',
    'cache_log /dev/null',
    'cache_store_log none',
    'coredump_dir none',
    'cache deny all',
    'shutdown_lifetime 0 seconds',
    '',
  ].join('\n');
  const file = join(dir, 'squid.conf');
  writeFileSync(file, config);
  return lab.startBackgroundUntil(
    'internet',
    'squid',
    '/usr/sbin/squid',
    ['-N', '-d', '1', '-f', file],
    'Accepting HTTP Socket connections',
  );
}

/**
 * Starts nginx on a LAN host that requires a PROXY header on `port` and answers every request
 * with the address the header carried (`$proxy_protocol_addr`).
 */
export async function startProxyProtocolServer(lab: Lab, host: HostName, port: number): Promise<number> {
  const dir = join(lab.state.dir, `nginx-${host}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const config = [
    'daemon off;',
    'master_process off;',
    `pid ${join(dir, 'nginx.pid')};`,
    'error_log stderr info;',
    'user root;',
    'events { worker_connections 256; }',
    'http {',
    '  access_log off;',
    `  client_body_temp_path ${dir}/body;`,
    `  proxy_temp_path ${dir}/proxy;`,
    `  fastcgi_temp_path ${dir}/fastcgi;`,
    `  uwsgi_temp_path ${dir}/uwsgi;`,
    `  scgi_temp_path ${dir}/scgi;`,
    `  server { listen ${port} proxy_protocol; location / { return 200 "visitor=$proxy_protocol_addr\\n"; } }`,
    '}',
    '',
  ].join('\n');
  const file = join(dir, 'nginx.conf');
  writeFileSync(file, config);
  const pid = lab.startBackground(host, `nginx-${host}`, '/usr/sbin/nginx', ['-c', file, '-p', dir]);
  await waitForListen(lab, host, port, 'tcp');
  return pid;
}

/** Starts a socat UDP echo on a host's port. */
export async function startUdpEcho(lab: Lab, host: HostName, port: number): Promise<number> {
  const pid = lab.startBackground(host, `udp-echo-${host}-${port}`, 'socat', [`UDP4-RECVFROM:${port},fork`, 'PIPE']);
  await waitForListen(lab, host, port, 'udp');
  return pid;
}

/** Waits (bounded: 5 s) until a host has a socket bound on a port. */
export async function waitForListen(lab: Lab, host: HostName, port: number, protocol: 'tcp' | 'udp'): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const sockets = await lab.exec(host, 'ss', [protocol === 'tcp' ? '-Hltn' : '-Hlun', `sport = :${port}`]);
    if (sockets.stdout.includes(`:${port}`)) return;
    await sleep(50);
  }
  throw new Error(`nothing listens on ${host}:${port}/${protocol}`);
}

/** A `porthole relay open` left running in the background. */
export interface BackgroundTunnel {
  readonly pid: number;
  /** The `{"event":"open",...}` line it printed. */
  readonly opened: Record<string, unknown>;
  readonly log: () => string;
}

/**
 * Runs `porthole relay open ARGS --json` on a host in the background and waits (bounded: 20 s)
 * for its "open" line; throws with its log when it exits or says something else.
 */
export async function startRelayOpen(
  lab: Lab,
  host: HostName,
  name: string,
  args: readonly string[],
): Promise<BackgroundTunnel> {
  const pid = lab.startBackground(host, name, process.execPath, [
    '--import',
    'tsx',
    PORTHOLE_SOURCE,
    'relay',
    'open',
    ...args,
    '--json',
  ]);
  for (let i = 0; i < 200; i++) {
    const line = lab
      .log(name)
      .split('\n')
      .find((text) => text.startsWith('{"event":"open"'));
    if (line) return { pid, opened: JSON.parse(line) as Record<string, unknown>, log: () => lab.log(name) };
    if (!processAlive(pid)) throw new Error(`porthole relay open exited:\n${lab.log(name)}`);
    await sleep(100);
  }
  throw new Error(`porthole relay open did not open within 20 s:\n${lab.log(name)}`);
}

/** Sends SIGTERM and waits (bounded: 5 s) for the process to exit; SIGKILL after that. */
export async function stopProcess(pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  for (let i = 0; i < 100 && processAlive(pid); i++) await sleep(50);
  if (processAlive(pid)) process.kill(pid, 'SIGKILL');
}
