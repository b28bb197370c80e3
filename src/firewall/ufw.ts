/**
 * ufw: a shell script of `ufw allow` commands (ufw skips a rule it already has, so running it
 * twice changes nothing), and an application profile for the inbound ports.
 */
import { commentedLines, headerLines } from './plan.js';
import type { FirewallBackend, PlannedRule, PortSpan, RenderedFile, RulePlan } from './types.js';

function ufwPorts(ports: readonly PortSpan[]): string {
  return ports.map((span) => (span.start === span.end ? `${span.start}` : `${span.start}:${span.end}`)).join(',');
}

function quote(text: string): string {
  return `'${text.replaceAll("'", '')}'`;
}

function commands(rule: PlannedRule): string[] {
  const ports = ufwPorts(rule.ports);
  const remotes = rule.remotes.length > 0 ? rule.remotes.map((remote) => remote.cidr) : ['any'];
  const lines = rule.group
    ? [`ufw allow ${rule.direction} proto ${rule.protocol} to ${rule.group} port ${ports} comment ${quote(rule.id)}`]
    : remotes.map((remote) =>
        rule.direction === 'in'
          ? `ufw allow in proto ${rule.protocol} from ${remote} to any port ${ports} comment ${quote(rule.id)}`
          : `ufw allow out proto ${rule.protocol} to ${remote} port ${ports} comment ${quote(rule.id)}`,
      );
  return lines;
}

/** The application profile: one section with every inbound port open to any source. */
export function renderUfwProfile(plan: RulePlan): string | undefined {
  const inbound = plan.rules.filter((rule) => rule.direction === 'in' && rule.remotes.length === 0 && !rule.group);
  if (inbound.length === 0) return undefined;
  const ports = [...new Set(inbound.map((rule) => `${ufwPorts(rule.ports)}/${rule.protocol}`))].join('|');
  return [
    ...headerLines(plan, 'ufw application profile').map((line) => `# ${line}`),
    `# Install in /etc/ufw/applications.d/, then: ufw allow porthole-${plan.manifest}`,
    `[porthole-${plan.manifest}]`,
    `title=${plan.manifest}`,
    `description=Inbound ports of ${plan.manifest} (${plan.source})`,
    `ports=${ports}`,
    '',
  ].join('\n');
}

/** The ufw command script. */
export function renderUfwCommands(plan: RulePlan): string {
  return [
    '#!/bin/sh',
    ...headerLines(plan, 'ufw commands').map((line) => `# ${line}`),
    'set -e',
    ...commentedLines(plan.rules, commands),
    '',
  ].join('\n');
}

/** The ufw backend. */
export const ufwBackend = {
  target: 'ufw',
  render: (plan: RulePlan): RenderedFile[] => {
    const profile = renderUfwProfile(plan);
    return [
      { name: `porthole-${plan.manifest}.ufw.sh`, content: renderUfwCommands(plan) },
      ...(profile ? [{ name: `porthole-${plan.manifest}`, content: profile }] : []),
    ];
  },
} satisfies FirewallBackend;
