/**
 * firewalld: service XML files (one for the inbound ports open to anyone, one per multicast
 * group, since a service's destination applies to all its ports) and a script of firewall-cmd
 * commands: the services, rich rules for restricted sources, and a policy for outbound rules.
 */
import { commentedLines, headerLines, ruleComment } from './plan.js';
import type { FirewallBackend, PlannedRule, PortSpan, RenderedFile, RulePlan } from './types.js';

function escapeXml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}

function portText(span: PortSpan): string {
  return span.start === span.end ? `${span.start}` : `${span.start}-${span.end}`;
}

/** A firewalld service name for the manifest, optionally for one group entry. */
export function firewalldService(manifest: string, entry?: string): string {
  return `porthole-${manifest}${entry ? `-${entry}` : ''}`.replace(/[^A-Za-z0-9_-]/g, '-');
}

function serviceXml(short: string, description: string, rules: readonly PlannedRule[], group?: string): string {
  const family = group?.includes(':') ? 'ipv6' : 'ipv4';
  const written = new Set<string>();
  // Each entry's ports under a comment naming it; a port two entries share is written once.
  const ports = rules.flatMap((rule) => {
    const elements = rule.ports
      .map((span) => `  <port protocol="${rule.protocol}" port="${portText(span)}"/>`)
      .filter((element) => !written.has(element) && written.add(element));
    return [`  <!-- ${escapeXml(ruleComment(rule)).replaceAll('--', '- -')} -->`, ...elements];
  });
  return [
    '<?xml version="1.0" encoding="utf-8"?>',
    '<service>',
    `  <short>${escapeXml(short)}</short>`,
    `  <description>${escapeXml(description)}</description>`,
    ...ports,
    ...(group ? [`  <destination ${family}="${group}"/>`] : []),
    '</service>',
    '',
  ].join('\n');
}

function richRule(rule: PlannedRule, remote: { family: 4 | 6; cidr: string }, span: PortSpan): string {
  const side = rule.direction === 'in' ? 'source' : 'destination';
  return `rule family="ipv${remote.family}" ${side} address="${remote.cidr}" port port="${portText(span)}" protocol="${rule.protocol}" accept`;
}

/** The firewalld backend. */
export const firewalldBackend = {
  target: 'firewalld',
  render: (plan: RulePlan): RenderedFile[] => {
    const open = plan.rules.filter((rule) => rule.direction === 'in' && rule.remotes.length === 0 && !rule.group);
    const groups = plan.rules.filter((rule) => rule.direction === 'in' && rule.group);
    const restricted = plan.rules.filter((rule) => rule.direction === 'in' && rule.remotes.length > 0);
    const outbound = plan.rules.filter((rule) => rule.direction === 'out');
    const files: RenderedFile[] = [];
    const services: string[] = [];
    if (open.length > 0) {
      const name = firewalldService(plan.manifest);
      services.push(name);
      files.push({
        name: `${name}.xml`,
        content: serviceXml(plan.manifest, `Inbound ports of ${plan.manifest}`, open),
      });
    }
    for (const entry of [...new Set(groups.map((rule) => rule.entry))]) {
      const rules = groups.filter((rule) => rule.entry === entry);
      const name = firewalldService(plan.manifest, entry);
      services.push(name);
      files.push({
        name: `${name}.xml`,
        content: serviceXml(`${plan.manifest} ${entry}`, ruleComment(rules[0] as PlannedRule), rules, rules[0]?.group),
      });
    }
    const policy = `${firewalldService(plan.manifest)}-out`;
    const cmd = 'firewall-cmd --permanent';
    const script = [
      '#!/bin/sh',
      ...headerLines(plan, 'firewalld').map((line) => `# ${line}`),
      '# Run from the folder holding the service files. Removing first makes re-running harmless.',
      ...services.flatMap((name) => [
        `${cmd} --delete-service=${name} >/dev/null 2>&1 || true`,
        `${cmd} --new-service-from-file=${name}.xml --name=${name}`,
        `${cmd} --add-service=${name}`,
      ]),
      ...commentedLines(restricted, (rule) =>
        rule.remotes.flatMap((remote) =>
          rule.ports.map((span) => `${cmd} --add-rich-rule='${richRule(rule, remote, span)}'`),
        ),
      ),
      ...(outbound.length > 0
        ? [
            '# Outbound rules need a policy from the host to any zone (firewalld 0.9 or newer).',
            `${cmd} --delete-policy=${policy} >/dev/null 2>&1 || true`,
            `${cmd} --new-policy=${policy}`,
            `${cmd} --policy=${policy} --add-ingress-zone=HOST`,
            `${cmd} --policy=${policy} --add-egress-zone=ANY`,
            ...commentedLines(outbound, (rule) =>
              rule.remotes.length > 0
                ? rule.remotes.flatMap((remote) =>
                    rule.ports.map(
                      (span) => `${cmd} --policy=${policy} --add-rich-rule='${richRule(rule, remote, span)}'`,
                    ),
                  )
                : rule.ports.map((span) => `${cmd} --policy=${policy} --add-port=${portText(span)}/${rule.protocol}`),
            ),
          ]
        : []),
      'firewall-cmd --reload',
      '',
    ].join('\n');
    return [...files, { name: `${firewalldService(plan.manifest)}.firewalld.sh`, content: script }];
  },
} satisfies FirewallBackend;
