/**
 * iptables: iptables-restore files for IPv4 and IPv6, with porthole's own chains. Loading a
 * file with `--noflush` re-declares (and so empties) only those chains: applying twice changes
 * nothing. The jump from INPUT/OUTPUT is added once, as the header says.
 */
import { commentedLines, headerLines } from './plan.js';
import type { FirewallBackend, PlannedRule, PortSpan, RenderedFile, RulePlan } from './types.js';

/** iptables chain names are at most 28 characters. */
const MAX_CHAIN = 28;
/** multiport takes at most 15 ports, a range counting as two. */
const MULTIPORT_SLOTS = 15;

/** porthole's chain for a manifest and direction, e.g. `PH-MEDIA-SERVER-IN`. */
export function iptablesChain(manifest: string, direction: 'in' | 'out'): string {
  const suffix = direction === 'in' ? '-IN' : '-OUT';
  const name = manifest.toUpperCase().replace(/[^A-Z0-9]+/g, '-');
  return `PH-${name}`.slice(0, MAX_CHAIN - suffix.length) + suffix;
}

function portGroups(ports: readonly PortSpan[]): string[] {
  const single = ports.length === 1 && ports[0];
  if (single)
    return [single.start === single.end ? `--dport ${single.start}` : `--dport ${single.start}:${single.end}`];
  const groups: string[] = [];
  let current: string[] = [];
  let used = 0;
  for (const span of ports) {
    const cost = span.start === span.end ? 1 : 2;
    if (used + cost > MULTIPORT_SLOTS) {
      groups.push(current.join(','));
      current = [];
      used = 0;
    }
    current.push(span.start === span.end ? `${span.start}` : `${span.start}:${span.end}`);
    used += cost;
  }
  groups.push(current.join(','));
  return groups.map((list) => `-m multiport --dports ${list}`);
}

function ruleLines(rule: PlannedRule, family: 4 | 6, chain: string): string[] {
  if (!rule.families.includes(family)) return [];
  const addressFlag = rule.direction === 'in' ? '-s' : '-d';
  const addresses = rule.group
    ? [`-d ${rule.group}`]
    : rule.remotes.filter((remote) => remote.family === family).map((remote) => `${addressFlag} ${remote.cidr}`);
  const targets = addresses.length > 0 ? addresses : [''];
  const comment = `-m comment --comment "${rule.id.replaceAll('"', "'")}"`;
  const lines = targets.flatMap((address) =>
    portGroups(rule.ports).map((ports) =>
      ['-A', chain, address, `-p ${rule.protocol}`, ports, comment, '-j ACCEPT'].filter(Boolean).join(' '),
    ),
  );
  return lines;
}

/** The iptables-restore text for one family. */
export function renderIptables(plan: RulePlan, family: 4 | 6): string {
  const tool = family === 4 ? 'iptables' : 'ip6tables';
  const chains = { in: iptablesChain(plan.manifest, 'in'), out: iptablesChain(plan.manifest, 'out') };
  return [
    ...headerLines(plan, `${tool}-restore, IPv${family}`).map((line) => `# ${line}`),
    `# Load: ${tool}-restore --noflush < FILE`,
    `# Then, once: ${tool} -I INPUT -j ${chains.in} && ${tool} -I OUTPUT -j ${chains.out}`,
    '*filter',
    `:${chains.in} - [0:0]`,
    `:${chains.out} - [0:0]`,
    ...commentedLines(
      plan.rules.filter((rule) => rule.families.includes(family)),
      (rule) => ruleLines(rule, family, chains[rule.direction]),
    ),
    'COMMIT',
    '',
  ].join('\n');
}

/** The iptables backend: rules.v4 and rules.v6. */
export const iptablesBackend = {
  target: 'iptables',
  render: (plan: RulePlan): RenderedFile[] => [
    { name: `porthole-${plan.manifest}.rules.v4`, content: renderIptables(plan, 4) },
    { name: `porthole-${plan.manifest}.rules.v6`, content: renderIptables(plan, 6) },
  ],
} satisfies FirewallBackend;
