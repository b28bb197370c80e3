/**
 * macOS / BSD pf: an anchor file loaded with `pfctl -a porthole/NAME -f FILE`, which replaces
 * the anchor's rules as a whole (so loading twice changes nothing).
 */
import { commentedLines, headerLines } from './plan.js';
import type { FirewallBackend, PlannedRule, PortSpan, RenderedFile, RulePlan } from './types.js';

function pfPorts(ports: readonly PortSpan[]): string {
  const items = ports.map((span) => (span.start === span.end ? `${span.start}` : `${span.start}:${span.end}`));
  return items.length === 1 ? (items[0] ?? '') : `{ ${items.join(', ')} }`;
}

function ruleLines(rule: PlannedRule): string[] {
  const inbound = rule.direction === 'in';
  const ports = `port ${pfPorts(rule.ports)}`;
  const state = rule.protocol === 'tcp' ? 'flags S/SA keep state' : 'keep state';
  const label = `label "${rule.id.replaceAll('"', "'")}"`;
  const lines = rule.group
    ? [
        `pass ${rule.direction} quick ${rule.group.includes(':') ? 'inet6' : 'inet'} proto ${rule.protocol} to ${rule.group} ${ports} ${state} ${label}`,
      ]
    : ([4, 6] as const)
        .filter((family) => rule.families.includes(family))
        .flatMap((family) => {
          const addresses = rule.remotes.filter((remote) => remote.family === family).map((remote) => remote.cidr);
          if (rule.remotes.length > 0 && addresses.length === 0) return [];
          const remote =
            addresses.length === 0 ? 'any' : addresses.length === 1 ? addresses[0] : `{ ${addresses.join(', ')} }`;
          const af = family === 4 ? 'inet' : 'inet6';
          const path = inbound ? `from ${remote} to any ${ports}` : `from any to ${remote} ${ports}`;
          return [`pass ${rule.direction} quick ${af} proto ${rule.protocol} ${path} ${state} ${label}`];
        });
  return lines;
}

/** The pf anchor text for a plan. */
export function renderPf(plan: RulePlan): string {
  return [
    ...headerLines(plan, 'pf anchor').map((line) => `# ${line}`),
    `# Load: pfctl -a porthole/${plan.manifest} -f FILE ; /etc/pf.conf needs once: anchor "porthole/*"`,
    ...commentedLines(plan.rules, ruleLines),
    '',
  ].join('\n');
}

/** The pf backend. */
export const pfBackend = {
  target: 'pf',
  render: (plan: RulePlan): RenderedFile[] => [{ name: `porthole-${plan.manifest}.pf.conf`, content: renderPf(plan) }],
} satisfies FirewallBackend;
