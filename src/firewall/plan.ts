/**
 * From a manifest to a RulePlan: one rule per entry, transport and direction, with DNS names
 * resolved to addresses when the rules are made (and said so). An entry whose names all fail
 * to resolve gets no rule at all: it is never widened to "any".
 */
import { lookup } from 'node:dns/promises';
import { type AbortOptions, withDeadline } from '../deadline/index.js';
import type { Manifest, ManifestEntry } from '../manifest/index.js';
import { formatIp, parseIp } from '../net/index.js';
import type { PlannedRule, RemoteAddress, RulePlan } from './types.js';

/** Resolves a DNS name to its addresses; tests pass their own. */
export type NameResolver = (name: string, options: AbortOptions) => Promise<string[]>;

/** How long one name may take to resolve before it counts as failed. */
const RESOLVE_DEADLINE_MS = 3000;

/** The system resolver (getaddrinfo), all addresses, both families. */
export const systemResolver: NameResolver = async (name, options) => {
  const signal = withDeadline(options.signal, RESOLVE_DEADLINE_MS, `resolving ${name}`);
  const answer = Promise.race([
    lookup(name, { all: true, verbatim: true }),
    new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true })),
  ]);
  return (await answer).map((entry) => entry.address);
};

/** The outcome of resolving a manifest's names: addresses per name, or why not. */
export type Resolutions = ReadonlyMap<string, { addresses: string[] } | { error: string }>;

/** Resolves every DNS name among the manifest's peers, concurrently. */
export async function resolveManifestNames(
  manifest: Manifest,
  resolver: NameResolver = systemResolver,
  options: AbortOptions = {},
): Promise<Resolutions> {
  const names = [
    ...new Set(manifest.entries.flatMap((entry) => entry.peers.filter((p) => p.kind === 'fqdn').map((p) => p.text))),
  ];
  const results = await Promise.all(
    names.map(async (name) => {
      try {
        const addresses = await resolver(name, options);
        return [name, addresses.length > 0 ? { addresses } : { error: 'no addresses' }] as const;
      } catch (error) {
        const code = (error as { code?: string }).code;
        return [name, { error: code ?? (error instanceof Error ? error.message : String(error)) }] as const;
      }
    }),
  );
  return new Map(results);
}

function cidrText(address: string, prefix: number | undefined): RemoteAddress {
  const parsed = parseIp(address);
  const max = parsed.family === 4 ? 32 : 128;
  const text = formatIp(parsed);
  return { family: parsed.family, cidr: prefix === undefined || prefix === max ? text : `${text}/${prefix}` };
}

function remotesOf(entry: ManifestEntry, resolutions: Resolutions, notes: string[]): RemoteAddress[] | undefined {
  const remotes: RemoteAddress[] = [];
  for (const peer of entry.peers) {
    if (peer.kind === 'cidr') {
      remotes.push(cidrText(formatIp(peer.cidr.address), peer.cidr.prefix));
      continue;
    }
    const outcome = resolutions.get(peer.text);
    if (!outcome || 'error' in outcome) {
      notes.push(`${entry.name}: ${peer.text} did not resolve (${outcome?.error ?? 'not looked up'}); no rule for it`);
      continue;
    }
    notes.push(`${entry.name}: ${peer.text} resolved to ${outcome.addresses.join(', ')} when these rules were made`);
    for (const address of outcome.addresses) remotes.push({ ...cidrText(address, undefined), resolvedFrom: peer.text });
  }
  if (entry.peers.length > 0 && remotes.length === 0) {
    notes.push(`${entry.name}: no peer address is known, so no rule is made (never widened to any address)`);
    return undefined;
  }
  // Sorted and de-duplicated, so the output does not depend on resolver order.
  const unique = new Map(remotes.map((remote) => [remote.cidr, remote]));
  return [...unique.values()].sort((a, b) => a.family - b.family || a.cidr.localeCompare(b.cidr));
}

/** The plan for a manifest, given the resolutions of its DNS names. Pure. */
export function planRules(manifest: Manifest, resolutions: Resolutions = new Map()): RulePlan {
  const notes: string[] = [];
  const rules: PlannedRule[] = [];
  for (const entry of manifest.entries) {
    const remotes = remotesOf(entry, resolutions, notes);
    if (!remotes) continue;
    const directions: ('in' | 'out')[] =
      entry.direction === 'multicast' ? ['in', 'out'] : [entry.direction === 'inbound' ? 'in' : 'out'];
    const groupFamily = entry.group ? parseIp(entry.group).family : undefined;
    const families: (4 | 6)[] = groupFamily
      ? [groupFamily]
      : remotes.length > 0
        ? [...new Set(remotes.map((remote) => remote.family))]
        : [4, 6];
    for (const direction of directions) {
      for (const protocol of entry.transports) {
        rules.push({
          id: `${manifest.name}/${entry.name}`,
          entry: entry.name,
          description: entry.description,
          line: entry.line,
          direction,
          protocol,
          ports: entry.ports.filter((range) => range.protocol === protocol).map(({ start, end }) => ({ start, end })),
          remotes,
          group: entry.group,
          families,
        });
      }
    }
  }
  return { manifest: manifest.name, source: manifest.source, rules, notes };
}

/** A one-line comment for a rule: entry, line and description. */
export function ruleComment(rule: PlannedRule): string {
  const where = rule.line > 0 ? ` (line ${rule.line})` : '';
  return `${rule.entry}${where}${rule.description ? `: ${rule.description}` : ''}`;
}

/** Header lines every backend starts its files with (without comment markers). */
export function headerLines(plan: RulePlan, what: string): string[] {
  return [
    `porthole firewall rules for "${plan.manifest}" (${plan.source}): ${what}`,
    'Generated by porthole; regenerate rather than edit. Applying them again changes nothing.',
    ...plan.notes,
  ];
}

/**
 * Renders rules with one comment line per manifest entry (an entry's transports and
 * directions follow each other, so the comment is not repeated for each).
 */
export function commentedLines(
  rules: readonly PlannedRule[],
  render: (rule: PlannedRule) => string[],
  indent = '',
): string[] {
  const lines: string[] = [];
  let previous: string | undefined;
  for (const rule of rules) {
    const key = `${rule.id}|${rule.direction}`;
    if (key !== previous) lines.push(`${indent}# ${ruleComment(rule)}`);
    previous = key;
    lines.push(...render(rule).map((line) => `${indent}${line}`));
  }
  return lines;
}
