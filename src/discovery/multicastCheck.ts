/**
 * Checks of a manifest's `direction: multicast` entries, for the doctor: (a) the host firewall
 * admits the group and port on each client-facing interface, (b) some socket has joined the
 * group on each of those interfaces (/proc/net/igmp, /proc/net/igmp6), (c) where the entry says
 * what it announces, a query finds it. Judging is pure (facts in, findings out); reading the
 * facts goes through a `MulticastHost`, so the lab can read them inside a namespace.
 */
import { readFile } from 'node:fs/promises';
import type { AbortOptions } from '../deadline/index.js';
import type { Evaluation } from '../firewall/index.js';
import { inspectPort, type LiveRuleset, readLiveRuleset } from '../firewall/index.js';
import type { Manifest, ManifestEntry } from '../manifest/index.js';
import { listInterfaces } from '../net/index.js';
import { type CommandRunner, localRunner } from '../system/index.js';
import { discoverAll } from './discover.js';
import { type Membership, parseProcNetIgmp, parseProcNetIgmp6 } from './igmp.js';
import type { DiscoveryAnswer, DiscoveryProtocol } from './types.js';

/** One finding, shaped as the doctor's: what was seen, how it is known, and the fix. */
export interface MulticastFinding {
  readonly id: string;
  readonly status: 'ok' | 'warn' | 'fail' | 'skip';
  readonly summary: string;
  readonly evidence: readonly string[];
  readonly fix: string | undefined;
}

/** Where the facts come from: this host by default, a lab namespace in tests. */
export interface MulticastHost {
  readonly readProc: (path: '/proc/net/igmp' | '/proc/net/igmp6') => Promise<string>;
  readonly runner: CommandRunner;
}

/** This host. */
export const localMulticastHost: MulticastHost = {
  readProc: (path) => readFile(path, 'utf8'),
  runner: localRunner,
};

/** How a query for an announced type is made (a test may run it from another LAN host). */
export type AnnounceQuery = (
  protocol: DiscoveryProtocol,
  type: string,
  options: AbortOptions & { readonly interfaces: readonly string[] },
) => Promise<DiscoveryAnswer[]>;

/** Options for checkMulticastEntry. */
export interface MulticastCheckOptions extends AbortOptions {
  /** The interfaces that face clients (default: every non-loopback interface with an address). */
  readonly interfaces?: readonly string[];
  readonly host?: MulticastHost;
  readonly query?: AnnounceQuery;
  /** How long the announce query listens, ms. */
  readonly timeoutMs?: number;
}

/** The ports of an entry the checks ask about: each range's first port (a group is one port in practice). */
function portsOf(entry: ManifestEntry): number[] {
  return [...new Set(entry.ports.filter((r) => r.protocol === 'udp').map((r) => r.start))];
}

function ruleDescription(evaluation: Evaluation): string {
  const by = evaluation.decidedBy;
  if (!by) return 'no rule';
  const handle = by.handle === undefined ? '' : ` (handle ${by.handle})`;
  return `"${by.rule}" in ${by.table} ${by.chain}${handle}`;
}

/** (a) The firewall, judged from a ruleset already read. Pure. */
export function judgeMulticastFirewall(
  entry: ManifestEntry,
  interfaces: readonly string[],
  ruleset: LiveRuleset,
  manifestSource = 'MANIFEST',
): MulticastFinding {
  const id = `multicast-firewall:${entry.name}`;
  const group = entry.group ?? '';
  const evidence: string[] = [`read from ${ruleset.sources.join(', ') || 'no ruleset (nothing filters this host)'}`];
  const blocked: string[] = [];
  const uncertain: string[] = [];
  let fixRule: string | undefined;
  for (const port of portsOf(entry)) {
    for (const iface of interfaces) {
      const answer = inspectPort(ruleset, {
        protocol: 'udp',
        port,
        direction: 'inbound',
        interface: iface,
        local: group,
      });
      evidence.push(`${answer.packet}: ${answer.verdict} by ${ruleDescription(answer)}`);
      if (answer.verdict !== 'accept') {
        blocked.push(`udp/${port} to ${group} on ${iface} is ${answer.verdict}ped by ${ruleDescription(answer)}`);
        const by = answer.decidedBy;
        if (by && !fixRule && ruleset.tables.find((t) => t.name === by.table)?.source === 'nftables') {
          const family = group.includes(':') ? 'ip6' : 'ip';
          const where = by.handle === undefined ? '' : ` handle ${by.handle}`;
          fixRule = `nft insert rule ${by.table} ${by.chain}${where} ${family} daddr ${group} udp dport ${port} accept`;
        }
      } else if (!answer.certain) uncertain.push(...answer.uncertainRules);
    }
  }
  if (blocked.length > 0) {
    return {
      id,
      status: 'fail',
      summary: `the host firewall drops ${entry.name}: ${blocked.join('; ')}`,
      evidence,
      fix: [
        fixRule ? `allow the group before that rule: ${fixRule}` : undefined,
        `or apply porthole's rules for the manifest: porthole firewall ${manifestSource} --target nftables --apply`,
      ]
        .filter(Boolean)
        .join('; '),
    };
  }
  if (uncertain.length > 0) {
    return {
      id,
      status: 'warn',
      summary: `the host firewall seems to admit ${entry.name} (udp ${portsOf(entry).join(',')} to ${group}), not proven: rules porthole cannot judge`,
      evidence: [...evidence, ...uncertain.map((rule) => `cannot judge: ${rule}`)],
      fix: 'check the rules named above by hand',
    };
  }
  return {
    id,
    status: 'ok',
    summary: `the host firewall admits udp ${portsOf(entry).join(',')} to ${group} on ${interfaces.join(', ')}`,
    evidence,
    fix: undefined,
  };
}

/** (b) Group membership on each client-facing interface. Pure. */
export function judgeMembership(
  entry: ManifestEntry,
  interfaces: readonly string[],
  memberships: readonly Membership[],
): MulticastFinding {
  const id = `multicast-membership:${entry.name}`;
  const group = (entry.group ?? '').toLowerCase();
  const joined = memberships.filter((m) => m.group.toLowerCase() === group).map((m) => m.interface);
  const evidence = [
    `${group.includes(':') ? '/proc/net/igmp6' : '/proc/net/igmp'}: ${group} joined on ${joined.length > 0 ? joined.join(', ') : 'no interface'}`,
  ];
  const silent = interfaces.filter((iface) => !joined.includes(iface));
  if (joined.length === 0) {
    return {
      id,
      status: 'fail',
      summary: `no socket on this host has joined ${group}: the server of ${entry.name} is not listening for queries`,
      evidence,
      fix: `start the server that answers ${entry.name}, and check it listens on udp ${portsOf(entry).join(',')}`,
    };
  }
  if (silent.length > 0) {
    return {
      id,
      status: 'fail',
      summary: `${entry.name} is silent on ${silent.join(', ')}: ${group} is joined on ${joined.join(', ')} only, so clients there get no answer`,
      evidence,
      fix: `let the server listen on ${silent.join(', ')} too (avahi-daemon: allow-interfaces; minidlna: network_interface; wsdd: -i), and check the interface has the MULTICAST flag (ip link set ${silent[0]} multicast on)`,
    };
  }
  return {
    id,
    status: 'ok',
    summary: `${group} is joined on ${interfaces.join(', ')}`,
    evidence,
    fix: undefined,
  };
}

/** (c) What a query for each announced type found. Pure. */
export function judgeAnnounce(
  entry: ManifestEntry,
  interfaces: readonly string[],
  found: ReadonlyMap<DiscoveryProtocol, readonly DiscoveryAnswer[]>,
): MulticastFinding {
  const id = `multicast-announce:${entry.name}`;
  const announce = entry.announce ?? {};
  const asked = (Object.entries(announce) as [DiscoveryProtocol, string | undefined][]).filter(
    (pair): pair is [DiscoveryProtocol, string] => pair[1] !== undefined,
  );
  if (asked.length === 0) {
    return {
      id,
      status: 'skip',
      summary: `not checked: the manifest does not say what ${entry.name} announces`,
      evidence: [],
      fix: 'add announce: { mdns: "_type._tcp" } (or ssdp: / wsd:) to the entry so the doctor can look for it',
    };
  }
  const evidence: string[] = [];
  const missing: string[] = [];
  const silent = new Set<string>();
  for (const [protocol, type] of asked) {
    const answers = found.get(protocol) ?? [];
    for (const a of answers)
      evidence.push(`${protocol} ${type}: ${a.name} at ${a.address}:${a.port ?? '-'} on ${a.interface}`);
    if (answers.length === 0) missing.push(`${protocol} ${type}`);
    for (const iface of interfaces)
      if (!answers.some((a) => a.interface === iface)) silent.add(`${iface} (${protocol})`);
  }
  if (missing.length > 0) {
    return {
      id,
      status: 'fail',
      summary: `a query for ${missing.join(', ')} found nothing on ${interfaces.join(', ')}`,
      evidence: [...evidence, `asked on ${interfaces.join(', ')}; no answer`],
      fix: 'check that the server publishes that type (avahi: a service file; minidlna/wsdd: running), and the firewall and membership findings above',
    };
  }
  if (silent.size > 0) {
    return {
      id,
      status: 'fail',
      summary: `${entry.name} is found, but nothing answered on ${[...silent].join(', ')}`,
      evidence,
      fix: `let the server announce on ${[...silent].map((s) => s.split(' ')[0]).join(', ')} too`,
    };
  }
  return {
    id,
    status: 'ok',
    summary: `${asked.map(([p, t]) => `${p} ${t}`).join(', ')} found`,
    evidence,
    fix: undefined,
  };
}

/** Client-facing interfaces by default: every non-loopback one with an IPv4 address. */
function defaultInterfaces(): string[] {
  return listInterfaces()
    .filter((i) => !i.internal && i.addresses.some((a) => a.family === 4))
    .map((i) => i.name);
}

/** Runs the three checks for one multicast entry. */
export async function checkMulticastEntry(
  entry: ManifestEntry,
  options: MulticastCheckOptions & { readonly manifestSource?: string } = {},
): Promise<MulticastFinding[]> {
  if (entry.direction !== 'multicast' || !entry.group) return [];
  const host = options.host ?? localMulticastHost;
  const interfaces = options.interfaces ?? defaultInterfaces();
  const signal = options.signal;
  const v6 = entry.group.includes(':');

  const firewall = await readLiveRuleset(host.runner).then(
    (ruleset) => judgeMulticastFirewall(entry, interfaces, ruleset, options.manifestSource),
    (error: unknown): MulticastFinding => ({
      id: `multicast-firewall:${entry.name}`,
      status: 'skip',
      summary: `not checked: the host firewall could not be read (${(error as Error).message})`,
      evidence: [],
      fix: 'run as root to read the firewall',
    }),
  );
  const membership = await host.readProc(v6 ? '/proc/net/igmp6' : '/proc/net/igmp').then(
    (text) => judgeMembership(entry, interfaces, v6 ? parseProcNetIgmp6(text) : parseProcNetIgmp(text)),
    (error: unknown): MulticastFinding => ({
      id: `multicast-membership:${entry.name}`,
      status: 'skip',
      summary: `not checked: ${(error as Error).message}`,
      evidence: [],
      fix: undefined,
    }),
  );
  const query: AnnounceQuery =
    options.query ??
    ((protocol, type, queryOptions) =>
      discoverAll({
        protocols: [protocol],
        types: [type],
        interfaces: queryOptions.interfaces,
        families: [v6 ? 6 : 4],
        ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
        ...(queryOptions.signal ? { signal: queryOptions.signal } : {}),
      }));
  const found = new Map<DiscoveryProtocol, DiscoveryAnswer[]>();
  for (const [protocol, type] of Object.entries(entry.announce ?? {}) as [DiscoveryProtocol, string | undefined][]) {
    if (type) found.set(protocol, await query(protocol, type, { interfaces, signal }));
  }
  return [firewall, membership, judgeAnnounce(entry, interfaces, found)];
}

/** Runs the checks for every multicast entry of a manifest, one entry after another. */
export async function checkMulticast(
  manifest: Manifest,
  options: MulticastCheckOptions = {},
): Promise<MulticastFinding[]> {
  const findings: MulticastFinding[] = [];
  for (const entry of manifest.entries.filter((e) => e.direction === 'multicast')) {
    findings.push(...(await checkMulticastEntry(entry, { ...options, manifestSource: manifest.source })));
  }
  return findings;
}
