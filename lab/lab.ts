/**
 * The network lab: Linux network namespaces joined by veth pairs and bridges, nftables NAT,
 * and real daemons (miniupnpd for UPnP IGD, NAT-PMP and PCP; coturn for STUN/RFC 5780).
 *
 *   lan, lan2 ── router (NAT + miniupnpd) ──[carrier NAT, cgnat only]── internet (coturn)
 *
 * Names are unique per run (`ph<hex>-<host>`), everything is torn down on stop, on failure
 * during start, and on process exit or interrupt. State is written to STATE_DIR so a lab
 * started by hand (`npm run lab -- up home`) can be used and removed later.
 */

import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sleep } from '../src/deadline/index.js';
import { PortholeError } from '../src/errors/index.js';
import { processAlive } from '../src/system/index.js';
import { LabError } from './errors.js';
import { type RunOptions, type RunResult, run, runChecked, runSyncQuiet, startDaemon, veth } from './exec.js';
import { killAndWait } from './processes.js';
import {
  carrierRuleset,
  IFACE,
  LAB_TABLE,
  MINIUPNPD_CHAINS,
  miniupnpdConfig,
  OUTER_PLACE,
  ROUTER_FIREWALL_TABLE,
  type RouterPlace,
  routerFirewallRuleset,
  routerRuleset,
} from './routerConfig.js';
import {
  addressesOf,
  type HostName,
  hostsOf,
  type LabAddresses,
  type LabOptions,
  PLAN,
  type ResolvedLabOptions,
  resolveOptions,
  stunServerOf,
  type TopologyName,
} from './topology.js';

/** Where labs record themselves: tmpfs, cleared at boot together with the namespaces. */
export const STATE_DIR = '/run/porthole-lab';

/** What a lab records about itself, enough to use and remove it from another process. */
export interface LabState {
  readonly id: string;
  readonly topology: TopologyName;
  readonly options: ResolvedLabOptions;
  readonly namespaces: Readonly<Partial<Record<HostName, string>>>;
  readonly addresses: LabAddresses;
  /** Config files and daemon logs. */
  readonly dir: string;
  /** Who started it: a test (owner pid) or a person by hand. */
  readonly owner: { readonly pid: number; readonly byHand: boolean };
  readonly startedAt: string;
}

/** The programs the lab needs on PATH. */
export const LAB_PROGRAMS = ['ip', 'nft', 'miniupnpd', 'turnserver', 'turnutils_stunclient'] as const;

/** How long daemons get to become ready; miniupnpd's STUN test alone waits up to 3 s. */
const READY_DEADLINE_MS = 20_000;
const READY_POLL_MS = 50;

/** Why the lab cannot run here, or undefined when it can. */
export function labUnavailableReason(): string | undefined {
  if (process.platform !== 'linux') return `the lab needs Linux network namespaces (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'the lab needs root to create network namespaces (run as root, as CI does)';
  const path = (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin']);
  const missing = LAB_PROGRAMS.filter((program) => !path.some((dir) => existsSync(join(dir, program))));
  if (missing.length > 0) return `missing lab programs: ${missing.join(', ')} (bash .ci/run installs them)`;
  return undefined;
}

/** Throws E_PERMISSION or E_LAB_UNSUPPORTED when the lab cannot run. */
export function assertLabAvailable(): void {
  const reason = labUnavailableReason();
  if (!reason) return;
  if (reason.includes('root')) throw new PortholeError('E_PERMISSION', { detail: reason });
  throw new LabError('E_LAB_UNSUPPORTED', { detail: reason });
}

/** A running lab. */
export class Lab {
  readonly state: LabState;
  #stopped = false;

  constructor(state: LabState) {
    this.state = state;
  }

  get id(): string {
    return this.state.id;
  }

  get addresses(): LabAddresses {
    return this.state.addresses;
  }

  /** The namespace name of a host; throws E_LAB_NOT_FOUND for a host this topology lacks. */
  namespace(host: HostName): string {
    const name = this.state.namespaces[host];
    if (!name) throw new LabError('E_LAB_NOT_FOUND', { detail: `${this.state.topology} has no host "${host}"` });
    return name;
  }

  /** Runs a command inside a host's namespace and collects its output. */
  exec(host: HostName, command: string, args: readonly string[] = [], options: RunOptions = {}): Promise<RunResult> {
    return run('ip', ['netns', 'exec', this.namespace(host), command, ...args], options);
  }

  /** Starts a background program in a host's namespace; it is killed when the lab stops. */
  startBackground(host: HostName, name: string, command: string, args: readonly string[]): number {
    const child = startDaemon('ip', ['netns', 'exec', this.namespace(host), command, ...args], this.logPath(name));
    if (child.pid === undefined) throw new LabError('E_LAB_DAEMON', { detail: `${command} did not start` });
    return child.pid;
  }

  /**
   * Starts a background program and waits (bounded: 10 s) until its log says `ready`; throws
   * with the log when it does not.
   */
  async startBackgroundUntil(
    host: HostName,
    name: string,
    command: string,
    args: readonly string[],
    ready: string,
  ): Promise<number> {
    const pid = this.startBackground(host, name, command, args);
    for (let i = 0; i < 100; i++) {
      if (this.log(name).includes(ready)) return pid;
      await sleep(100);
    }
    throw new LabError('E_LAB_DAEMON', { detail: `${name} did not say "${ready}":\n${this.log(name)}` });
  }

  /** Path of a daemon's log file. */
  logPath(name: string): string {
    return join(this.state.dir, `${name}.log`);
  }

  /** A daemon's log so far ('' when it has none). */
  log(name: string): string {
    try {
      return readFileSync(this.logPath(name), 'utf8');
    } catch {
      return '';
    }
  }

  /**
   * Simulates a router reboot: miniupnpd is killed, its chains flushed (a rebooted router
   * forgets its mappings), and it is started again and waited for.
   */
  async restartRouterDaemon(): Promise<void> {
    await this.stopRouterDaemon();
    await startMiniupnpd(this);
  }

  /**
   * Changes the router's settings and restarts miniupnpd with them (its permission rules, lease
   * limits): what a person does on the router's page, then the router's restart.
   */
  async reconfigureRouter(change: Partial<Pick<ResolvedLabOptions, 'permissions' | 'pcpLifetime'>>): Promise<void> {
    (this.state as { options: ResolvedLabOptions }).options = { ...this.state.options, ...change };
    await this.restartRouterDaemon();
  }

  /** Stops miniupnpd and flushes its chains, as a router that lost power. */
  async stopRouterDaemon(): Promise<void> {
    const pid = readPid(join(this.state.dir, 'miniupnpd.pid'));
    if (pid !== undefined) await killAndWait(pid);
    rmSync(join(this.state.dir, 'miniupnpd.pid'), { force: true });
    const flush = Object.values(MINIUPNPD_CHAINS)
      .map((chain) => `flush chain inet ${LAB_TABLE} ${chain}`)
      .join('\n');
    await runChecked('ip', ['netns', 'exec', this.namespace('router'), 'nft', '-f', '-'], { input: flush });
  }

  /**
   * A router's periodic clean-up, as it leaves things: every mapping gone from the ruleset while
   * the daemon runs on (its epoch goes on; only its table is empty). miniupnpd's own
   * clean_ruleset_interval cannot be used: its nftables backend never reads packet counts
   * (netfilter_nft/nftnlrdr.c leaves them unset in 2.3.1), so it cannot tell an idle rule.
   */
  async dropRouterMappings(): Promise<void> {
    const flush = Object.values(MINIUPNPD_CHAINS)
      .map((chain) => `flush chain inet ${LAB_TABLE} ${chain}`)
      .join('\n');
    await runChecked('ip', ['netns', 'exec', this.namespace('router'), 'nft', '-f', '-'], { input: flush });
  }

  /**
   * Turns the router's second firewall on or off (routerFirewall): on, forwarded connections from
   * the WAN are dropped in front of miniupnpd's rules, which it still lists; off is what a person
   * does on the router's page ("SPI firewall" off).
   */
  async setRouterFirewall(on: boolean): Promise<void> {
    const router = this.namespace('router');
    if (on) await runChecked('ip', ['netns', 'exec', router, 'nft', '-f', '-'], { input: routerFirewallRuleset() });
    else await run('ip', ['netns', 'exec', router, 'nft', 'delete', 'table', 'inet', ROUTER_FIREWALL_TABLE]);
  }

  /**
   * The router answers NAT-PMP and PCP from another of its LAN addresses (`address`, added to its
   * LAN bridge) than the one it was asked at, as some routers with several LAN addresses do; the
   * source of its answers is rewritten on the way out. Undefined turns it back.
   */
  async answerNatpmpFrom(address: string | undefined): Promise<void> {
    const router = this.namespace('router');
    const exec = (args: string[]) => run('ip', ['netns', 'exec', router, ...args]);
    if (address === undefined) {
      await exec(['nft', 'delete', 'table', 'ip', 'quirk_source']);
      for (const line of (await exec(['ip', '-4', '-o', 'addr', 'show', 'dev', IFACE.lanBridge])).stdout.split('\n'))
        for (const [, other] of line.matchAll(/inet (\S+)/g))
          if (other && !other.startsWith(`${PLAN.routerLan}/`))
            await exec(['ip', 'addr', 'del', other, 'dev', IFACE.lanBridge]);
      return;
    }
    await runChecked('ip', ['-n', router, 'addr', 'add', `${address}/${PLAN.lanPrefix}`, 'dev', IFACE.lanBridge]);
    await runChecked('ip', ['netns', 'exec', router, 'nft', '-f', '-'], {
      input: `table ip quirk_source {
  chain out {
    type filter hook output priority 0; policy accept;
    oifname "${IFACE.lanBridge}" udp sport ${PLAN.natpmpPort} ip saddr set ${address}
  }
}
`,
    });
  }

  /**
   * A WAN reconnect (a PPPoE session or DHCP lease renewed): the WAN address goes for `ms` and comes
   * back. miniupnpd hears both over netlink and re-runs its STUN test each time; while the address
   * is gone it refuses every mapping (port forwarding disabled), as a router that has not settled.
   */
  async wanReconnect(ms: number): Promise<void> {
    const router = this.namespace('router');
    const cidr = `${this.addresses.routerWan}/${this.state.topology === 'home' || this.state.topology === 'venue' ? PLAN.internetPrefix : this.state.topology === 'cgnat' ? PLAN.carrierPrefix : PLAN.outerPrefix}`;
    const via =
      this.state.topology === 'cgnat'
        ? PLAN.carrierInside
        : this.state.topology === 'doublenat'
          ? PLAN.outerInside
          : PLAN.internetHost;
    await runChecked('ip', ['-n', router, 'addr', 'del', cidr, 'dev', IFACE.wan]);
    await sleep(ms);
    await runChecked('ip', ['-n', router, 'addr', 'add', cidr, 'dev', IFACE.wan]);
    await runChecked('ip', ['-n', router, 'route', 'replace', 'default', 'via', via]);
  }

  /**
   * doublenat: forwards a port on the outer router to the home router's WAN (what a user sets on
   * a provider's box by hand), so the doctor's fix for double NAT can be run.
   */
  async forwardOnOuterRouter(protocol: 'tcp' | 'udp', port: number): Promise<void> {
    const rules = [
      `add rule inet ${LAB_TABLE} prerouting iifname "${IFACE.wan}" ${protocol} dport ${port} dnat ip to ${PLAN.routerWanDoubleNat}`,
    ].join('\n');
    await runChecked('ip', ['netns', 'exec', this.namespace('outer'), 'nft', '-f', '-'], { input: rules });
  }

  /** Tears the lab down: every process in its namespaces, the namespaces, its files. Idempotent. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    teardown(this.state);
    liveLabs.delete(this);
  }
}

/** Labs of this process still up, torn down on exit and interrupt. */
const liveLabs = new Set<Lab>();
let exitHooksInstalled = false;

function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.on('exit', () => {
    for (const lab of liveLabs) if (!lab.state.owner.byHand) lab.stop();
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      for (const lab of liveLabs) if (!lab.state.owner.byHand) lab.stop();
      process.kill(process.pid, signal);
    });
  }
}

/** Kills every process in a lab's namespaces, deletes them, and removes its files. Synchronous. */
export function teardown(state: LabState): void {
  const namespaces = Object.values(state.namespaces);
  for (const ns of namespaces) {
    for (const pid of runSyncQuiet('ip', ['netns', 'pids', ns]).split(/\s+/).filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }
  for (const ns of namespaces) runSyncQuiet('ip', ['netns', 'del', ns]);
  // Per-namespace resolver files (`ip netns exec` mounts them over /etc/resolv.conf).
  for (const ns of namespaces) rmSync(join(NETNS_ETC, ns), { recursive: true, force: true });
  rmSync(state.dir, { recursive: true, force: true });
  rmSync(statePath(state.id), { force: true });
}

function statePath(id: string): string {
  return join(STATE_DIR, `${id}.json`);
}

/** Labs recorded on this machine (by hand or by tests still running). */
export function listLabStates(): LabState[] {
  if (!existsSync(STATE_DIR)) return [];
  return readdirSync(STATE_DIR)
    .filter((file) => file.endsWith('.json'))
    .flatMap((file) => {
      try {
        return [JSON.parse(readFileSync(join(STATE_DIR, file), 'utf8')) as LabState];
      } catch {
        return [];
      }
    });
}

/** Whether the process that owns a test lab has gone (its lab is then stale). */
export function isStale(state: LabState): boolean {
  if (state.owner.byHand) return false;
  try {
    process.kill(state.owner.pid, 0);
    return false;
  } catch {
    return true;
  }
}

function readPid(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Options for startLab beyond the topology's switches. */
export interface StartOptions {
  /** Leave the lab up after this process exits (`npm run lab -- up`). */
  readonly byHand?: boolean;
}

/** Builds a lab and waits until its daemons are ready. On any failure everything is torn down. */
export async function startLab(labOptions: LabOptions, startOptions: StartOptions = {}): Promise<Lab> {
  assertLabAvailable();
  const options = resolveOptions(labOptions);
  const id = `ph${randomBytes(3).toString('hex')}`;
  const dir = join(STATE_DIR, id);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const namespaces = Object.fromEntries(hostsOf(options.topology).map((host) => [host, `${id}-${host}`]));
  const lab = new Lab({
    id,
    topology: options.topology,
    options,
    namespaces,
    addresses: addressesOf(options.topology),
    dir,
    owner: { pid: process.pid, byHand: startOptions.byHand ?? false },
    startedAt: new Date().toISOString(),
  });
  writeFileSync(statePath(id), `${JSON.stringify(lab.state, null, 2)}\n`);
  liveLabs.add(lab);
  installExitHooks();
  try {
    await buildNetwork(lab);
    await startCoturn(lab);
    if (options.privateWan && (options.topology === 'cgnat' || options.topology === 'doublenat'))
      await startCoturn(lab, options.topology === 'cgnat' ? 'carrier' : 'outer', 'coturn-wan', stunServerOf(options));
    if (options.outerMapping && options.topology === 'doublenat')
      await startMiniupnpd(lab, { host: 'outer', name: 'miniupnpd-outer', place: OUTER_PLACE });
    if (options.upnp || options.natpmp) await startMiniupnpd(lab);
    if (options.topology === 'venue' && options.intercept) await startPortal(lab);
    if (Object.keys(options.dnsRecords).length > 0) await startDns(lab);
    return lab;
  } catch (error) {
    lab.stop();
    throw error;
  }
}

async function ip(args: string[]): Promise<void> {
  await runChecked('ip', args);
}

async function upWithAddress(ns: string, iface: string, cidr: string): Promise<void> {
  await ip(['-n', ns, 'addr', 'add', cidr, 'dev', iface]);
  await ip(['-n', ns, 'link', 'set', iface, 'up']);
}

/** An IPv6 address without duplicate address detection, so it is usable at once (tests never wait). */
async function addAddress6(ns: string, iface: string, address: string, prefix: number): Promise<void> {
  await ip(['-n', ns, 'addr', 'add', `${address}/${prefix}`, 'dev', iface, 'nodad']);
}

async function route6(ns: string, to: string, via: string): Promise<void> {
  await ip(['-n', ns, '-6', 'route', 'add', to, 'via', via]);
}

/** No DAD in the namespace either, for the link-local addresses the kernel makes itself. */
async function withoutDad(ns: string): Promise<void> {
  await runChecked('ip', [
    'netns',
    'exec',
    ns,
    'sysctl',
    '-qw',
    'net.ipv6.conf.all.accept_dad=0',
    'net.ipv6.conf.default.accept_dad=0',
  ]);
}

async function nftLoad(ns: string, ruleset: string): Promise<void> {
  await runChecked('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], { input: ruleset });
}

/**
 * A router of the lab forwards, and answers every TTL-exceeded probe: Linux rate-limits its ICMP
 * errors to one per second per destination, so the many doctor and nat runs of a test file or a
 * benchmark made `tracepath` wait a second per unanswered hop (1-25 s seen), which a user's single
 * run never meets.
 */
async function enableForwarding(ns: string): Promise<void> {
  await runChecked('ip', [
    'netns',
    'exec',
    ns,
    'sysctl',
    '-qw',
    'net.ipv4.ip_forward=1',
    'net.ipv6.conf.all.forwarding=1',
    'net.ipv4.icmp_ratelimit=0',
    'net.ipv6.icmp.ratelimit=0',
  ]);
}

async function buildNetwork(lab: Lab): Promise<void> {
  const { topology, options } = lab.state;
  for (const ns of Object.values(lab.state.namespaces)) {
    await ip(['netns', 'add', ns]);
    await withoutDad(ns);
    await ip(['-n', ns, 'link', 'set', 'lo', 'up']);
  }
  const router = lab.namespace('router');
  const internet = lab.namespace('internet');

  // Internet: one bridge that routers and internet hosts plug into; two addresses for STUN.
  await ip(['-n', internet, 'link', 'add', IFACE.internetBridge, 'type', 'bridge']);
  await upWithAddress(internet, IFACE.internetBridge, `${PLAN.internetHost}/${PLAN.internetPrefix}`);
  await ip(['-n', internet, 'addr', 'add', `${PLAN.internetAlt}/${PLAN.internetPrefix}`, 'dev', IFACE.internetBridge]);
  await addAddress6(internet, IFACE.internetBridge, PLAN.internetHost6, PLAN.internetPrefix6);

  // Router LAN: a bridge with the two LAN hosts.
  await ip(['-n', router, 'link', 'add', IFACE.lanBridge, 'type', 'bridge']);
  await upWithAddress(router, IFACE.lanBridge, `${PLAN.routerLan}/${PLAN.lanPrefix}`);
  await addAddress6(router, IFACE.lanBridge, PLAN.routerLan6, PLAN.lanPrefix6);
  for (const [index, host] of (['lan', 'lan2'] as const).entries()) {
    const ns = lab.namespace(host);
    const port = `lan${index}`;
    await veth(router, port, ns, IFACE.host);
    await ip(['-n', router, 'link', 'set', port, 'master', IFACE.lanBridge, 'up']);
    await upWithAddress(ns, IFACE.host, `${lab.addresses[host]}/${PLAN.lanPrefix}`);
    await addAddress6(ns, IFACE.host, host === 'lan' ? PLAN.lanHost6 : PLAN.lan2Host6, PLAN.lanPrefix6);
    await ip(['-n', ns, 'route', 'add', 'default', 'via', PLAN.routerLan]);
    await route6(ns, 'default', PLAN.routerLan6);
  }

  if (topology === 'cgnat') {
    await buildProviderNat(lab, 'carrier', {
      routerWan: PLAN.routerWanCgnat,
      inside: PLAN.carrierInside,
      prefix: PLAN.carrierPrefix,
      public: PLAN.carrierPublic,
      port: 'cgn0',
    });
  } else if (topology === 'doublenat') {
    // The outer router is built like the carrier NAT (masquerade, nothing unsolicited in), on a
    // private LAN: forwards on it are set by hand (forwardOnOuterRouter), as on a provider's box.
    await buildProviderNat(lab, 'outer', {
      routerWan: PLAN.routerWanDoubleNat,
      inside: PLAN.outerInside,
      prefix: PLAN.outerPrefix,
      public: PLAN.outerPublic,
      port: 'out0',
      // A provider's router that maps (outerMapping) has miniupnpd's chains in its ruleset.
      ...(options.outerMapping ? { ruleset: routerRuleset(options, OUTER_PLACE) } : {}),
    });
  } else {
    await veth(router, IFACE.wan, internet, 'rtr0');
    await upWithAddress(router, IFACE.wan, `${PLAN.routerWanPublic}/${PLAN.internetPrefix}`);
    await ip(['-n', internet, 'link', 'set', 'rtr0', 'master', IFACE.internetBridge, 'up']);
    await ip(['-n', router, 'route', 'add', 'default', 'via', PLAN.internetHost]);
    await addAddress6(router, IFACE.wan, PLAN.routerWan6, PLAN.internetPrefix6);
    await route6(router, 'default', PLAN.internetHost6);
    await route6(internet, PLAN.lanSubnet6, PLAN.routerWan6);
  }
  await enableForwarding(router);
  await nftLoad(router, routerRuleset(options));
}

/**
 * cgnat and doublenat: the provider's box routes the home's IPv6 /64 natively (no NAT), as
 * carriers that share one IPv4 among many homes commonly do; only the home router's firewall
 * stands between the LAN and the internet on IPv6.
 */
async function routeIpv6ThroughProvider(router: string, provider: string, internet: string): Promise<void> {
  await addAddress6(router, IFACE.wan, PLAN.routerWanCarrier6, 64);
  await addAddress6(provider, IFACE.carrierInside, PLAN.carrierInside6, 64);
  await addAddress6(provider, IFACE.wan, PLAN.carrierPublic6, PLAN.internetPrefix6);
  await route6(router, 'default', PLAN.carrierInside6);
  await route6(provider, 'default', PLAN.internetHost6);
  await route6(provider, PLAN.lanSubnet6, PLAN.routerWanCarrier6);
  await route6(internet, PLAN.lanSubnet6, PLAN.carrierPublic6);
}

/**
 * A NAT box between the home router and the internet (a carrier NAT, or a provider's router in a
 * double NAT): the router's WAN on its inside network, its own public address on the internet
 * bridge, masquerade and nothing unsolicited in; IPv6 routed natively through it.
 */
async function buildProviderNat(
  lab: Lab,
  host: 'carrier' | 'outer',
  plan: { routerWan: string; inside: string; prefix: number; public: string; port: string; ruleset?: string },
): Promise<void> {
  const router = lab.namespace('router');
  const internet = lab.namespace('internet');
  const box = lab.namespace(host);
  await veth(router, IFACE.wan, box, IFACE.carrierInside);
  await upWithAddress(router, IFACE.wan, `${plan.routerWan}/${plan.prefix}`);
  await upWithAddress(box, IFACE.carrierInside, `${plan.inside}/${plan.prefix}`);
  await ip(['-n', router, 'route', 'add', 'default', 'via', plan.inside]);
  await veth(box, IFACE.wan, internet, plan.port);
  await upWithAddress(box, IFACE.wan, `${plan.public}/${PLAN.internetPrefix}`);
  await ip(['-n', internet, 'link', 'set', plan.port, 'master', IFACE.internetBridge, 'up']);
  await ip(['-n', box, 'route', 'add', 'default', 'via', PLAN.internetHost]);
  await routeIpv6ThroughProvider(router, box, internet);
  await enableForwarding(box);
  await nftLoad(box, plan.ruleset ?? carrierRuleset());
  if (lab.state.options.privateWan) {
    // The STUN server beside the router needs its second address on the link (privateWan).
    const stun = stunServerOf(lab.state.options);
    await ip(['-n', box, 'addr', 'add', `${stun.alt}/${plan.prefix}`, 'dev', IFACE.carrierInside]);
  }
}

/** Polls until `ready()` or the deadline; on failure the error carries the daemon's log. */
async function waitFor(lab: Lab, name: string, pid: number, ready: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = performance.now() + READY_DEADLINE_MS;
  while (performance.now() < deadline) {
    if (await ready()) return;
    if (!processAlive(pid)) break;
    await sleep(READY_POLL_MS);
  }
  const why = processAlive(pid) ? `not ready after ${READY_DEADLINE_MS} ms` : 'exited';
  throw new LabError('E_LAB_DAEMON', { detail: `${name} ${why}; its log:\n${lab.log(name).slice(-4000)}` });
}

async function startCoturn(
  lab: Lab,
  host: HostName = 'internet',
  name = 'coturn',
  at: { primary: string; alt: string } = { primary: PLAN.internetHost, alt: PLAN.internetAlt },
): Promise<void> {
  const dir = lab.state.dir;
  const pid = lab.startBackground(host, name, 'turnserver', [
    // Debian's /etc/turnserver.conf turns RFC 5780 off: read no config file at all.
    '-n',
    '--no-cli',
    '--fingerprint',
    '--stun-only',
    '--no-tls',
    '--no-dtls',
    '--listening-ip',
    at.primary,
    '--listening-ip',
    at.alt,
    '--listening-port',
    String(PLAN.stunPort),
    // RFC 5780: the second port answers CHANGE-REQUEST tests.
    '--alt-listening-port',
    String(PLAN.stunAltPort),
    '--db',
    join(dir, `${name}-turndb`),
    '--pidfile',
    join(dir, `${name}.pid`),
    '--log-file',
    'stdout',
    '--simple-log',
  ]);
  // Ready when a real STUN client gets a binding response from it.
  await waitFor(lab, name, pid, async () => {
    const probe = await lab.exec(host, 'turnutils_stunclient', ['-p', String(PLAN.stunPort), at.primary], {
      timeoutMs: 1000,
    });
    return probe.code === 0 && /reflexive addr/.test(probe.stdout + probe.stderr);
  });
}

/** Starts miniupnpd on a router (the home router, or the one in front) and waits for its STUN test and listeners. */
export async function startMiniupnpd(
  lab: Lab,
  where: { host: HostName; name: string; place?: RouterPlace } = { host: 'router', name: 'miniupnpd' },
): Promise<void> {
  const { options, dir } = lab.state;
  const config = join(dir, `${where.name}.conf`);
  writeFileSync(config, miniupnpdConfig(options, randomUUID(), where.place));
  writeFileSync(lab.logPath(where.name), '');
  const pid = lab.startBackground(where.host, where.name, 'miniupnpd', [
    '-d',
    '-f',
    config,
    '-P',
    join(dir, `${where.name}.pid`),
  ]);
  // PRODUCT.md: wait for "Listening for NAT-PMP" (or the HTTP listener when only UPnP is on).
  const natpmp = where.place !== undefined || options.natpmp;
  const readyLine = natpmp ? /Listening for NAT-PMP\/PCP traffic on port/ : /HTTP listening on port/;
  await waitFor(lab, where.name, pid, () => readyLine.test(lab.log(where.name)));
}

/** Where `ip netns exec` looks for a namespace's own /etc files. */
const NETNS_ETC = '/etc/netns';

/**
 * The venue's captive portal on the router: every connection the redirect brings it gets an
 * HTTP redirect to a login page, whatever port it was for, as hotel and venue portals do.
 */
async function startPortal(lab: Lab): Promise<void> {
  const script = `require('net').createServer((s) => { s.on('error', () => {}); s.end('HTTP/1.1 302 Found\\r\\nLocation: http://portal.venue.example/login\\r\\nContent-Length: 0\\r\\n\\r\\n'); }).listen(${PLAN.portalPort}, () => console.log('portal listening'));`;
  const pid = lab.startBackground('router', 'portal', process.execPath, ['-e', script]);
  await waitFor(lab, 'portal', pid, () => lab.log('portal').includes('portal listening'));
}

/**
 * dnsmasq on the internet host, authoritative for the lab's zone (other names in it do not
 * exist), and the LAN hosts' resolver pointed at it.
 */
async function startDns(lab: Lab): Promise<void> {
  const { dnsRecords } = lab.state.options;
  const pid = lab.startBackground('internet', 'dnsmasq', 'dnsmasq', [
    '--keep-in-foreground',
    '--conf-file=/dev/null',
    '--no-resolv',
    '--no-hosts',
    '--user=root',
    `--pid-file=${join(lab.state.dir, 'dnsmasq.pid')}`,
    `--listen-address=${PLAN.internetHost}`,
    '--bind-interfaces',
    `--local=/${PLAN.dnsZone}/`,
    '--log-facility=-',
    '--log-queries',
    ...Object.entries(dnsRecords).map(([name, address]) => `--host-record=${name},${address}`),
  ]);
  for (const host of ['lan', 'lan2'] as const) {
    const dir = join(NETNS_ETC, lab.namespace(host));
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'resolv.conf'), `nameserver ${PLAN.internetHost}\noptions timeout:1 attempts:2\n`);
  }
  const [firstName] = Object.keys(dnsRecords);
  await waitFor(lab, 'dnsmasq', pid, async () => {
    const answer = await lab.exec('lan', 'getent', ['ahostsv4', firstName ?? ''], { timeoutMs: 3000 });
    return answer.code === 0;
  });
}

/** A bare namespace (loopback only) with a ruleset of its own, for tests of firewall text. */
export interface ScratchNamespace {
  readonly name: string;
  exec(command: string, args?: readonly string[], options?: RunOptions): Promise<RunResult>;
  stop(): void;
}

/** Creates a scratch namespace; stop() (also run on exit) deletes it with everything in it. */
export async function startScratchNamespace(): Promise<ScratchNamespace> {
  assertLabAvailable();
  const name = `ph${randomBytes(3).toString('hex')}-scratch`;
  await runChecked('ip', ['netns', 'add', name]);
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    for (const pid of runSyncQuiet('ip', ['netns', 'pids', name]).split(/\s+/).filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    runSyncQuiet('ip', ['netns', 'del', name]);
  };
  process.once('exit', stop);
  await runChecked('ip', ['-n', name, 'link', 'set', 'lo', 'up']).catch((error: unknown) => {
    stop();
    throw error;
  });
  return {
    name,
    exec: (command, args = [], options = {}) => run('ip', ['netns', 'exec', name, command, ...args], options),
    stop,
  };
}
