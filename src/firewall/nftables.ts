/**
 * nftables: one table of porthole's own per manifest, replaced as a whole in one atomic
 * transaction (`nft -f`), so applying the file twice changes nothing.
 *
 * nftables evaluates every base chain on a hook and a drop in any of them is final, so an
 * accept in porthole's table cannot open a port that another table drops. apply.ts therefore
 * also inserts the same matches into such chains (see there); the text here is the table.
 */
import { commentedLines, headerLines } from './plan.js';
import type { FirewallBackend, PlannedRule, PortSpan, RenderedFile, RulePlan } from './types.js';

/** porthole's table for a manifest: `porthole_<name>` with other characters as `_`. */
export function nftTableName(manifest: string): string {
  return `porthole_${manifest.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

/** Runs before the usual `filter` priority so the trail in `nft list ruleset` reads in order. */
const CHAIN_PRIORITY = 'filter - 10';

function portsExpression(ports: readonly PortSpan[]): string {
  const items = ports.map((span) => (span.start === span.end ? `${span.start}` : `${span.start}-${span.end}`));
  return items.length === 1 ? (items[0] ?? '') : `{ ${items.join(', ')} }`;
}

/**
 * The match part of a rule, once per address family it needs (a rule with IPv4 and IPv6
 * peers becomes two). Without peers or group one family-neutral line serves both.
 */
export function nftMatches(rule: PlannedRule): { family: 4 | 6 | undefined; match: string }[] {
  const ports = `${rule.protocol} dport ${portsExpression(rule.ports)}`;
  const local = rule.direction === 'in' ? 'daddr' : 'saddr';
  const remote = rule.direction === 'in' ? 'saddr' : 'daddr';
  if (rule.group) {
    const family = rule.families[0] ?? 4;
    const field = rule.direction === 'in' ? local : remote;
    return [{ family, match: `${family === 4 ? 'ip' : 'ip6'} ${field} ${rule.group} ${ports}` }];
  }
  if (rule.remotes.length === 0) return [{ family: undefined, match: ports }];
  return ([4, 6] as const).flatMap((family) => {
    const addresses = rule.remotes.filter((address) => address.family === family).map((address) => address.cidr);
    if (addresses.length === 0) return [];
    const set = addresses.length === 1 ? addresses[0] : `{ ${addresses.join(', ')} }`;
    return [{ family, match: `${family === 4 ? 'ip' : 'ip6'} ${remote} ${set} ${ports}` }];
  });
}

/** `comment "..."` as nft needs it (no double quotes inside, 128 bytes at most). */
export function nftComment(text: string): string {
  return `comment "${text.replaceAll('"', "'").slice(0, 120)}"`;
}

function chainBody(rules: readonly PlannedRule[]): string[] {
  return commentedLines(
    rules,
    (rule) => nftMatches(rule).map(({ match }) => `${match} accept ${nftComment(rule.id)}`),
    '    ',
  );
}

/** The nftables ruleset text for a plan: the whole table, atomic and idempotent. */
export function renderNftables(plan: RulePlan): string {
  const table = nftTableName(plan.manifest);
  const inbound = plan.rules.filter((rule) => rule.direction === 'in');
  const outbound = plan.rules.filter((rule) => rule.direction === 'out');
  return [
    '#!/usr/sbin/nft -f',
    ...headerLines(plan, 'nftables').map((line) => `# ${line}`),
    '# Load with `nft -f FILE`, or `porthole firewall FILE --target nftables --apply`.',
    "# A drop in another table's chain still wins in nftables; --apply also inserts these accepts there.",
    '',
    '# Create the table if missing, then delete it: the definition below replaces it whole.',
    `table inet ${table}`,
    `delete table inet ${table}`,
    `table inet ${table} {`,
    '  chain input {',
    `    type filter hook input priority ${CHAIN_PRIORITY}; policy accept;`,
    ...chainBody(inbound),
    '  }',
    '  chain output {',
    `    type filter hook output priority ${CHAIN_PRIORITY}; policy accept;`,
    ...chainBody(outbound),
    '  }',
    '}',
    '',
  ].join('\n');
}

/** The nftables backend. */
export const nftablesBackend = {
  target: 'nftables',
  render: (plan: RulePlan): RenderedFile[] => [
    { name: `${nftTableName(plan.manifest)}.nft`, content: renderNftables(plan) },
  ],
} satisfies FirewallBackend;
