/**
 * Windows Defender Firewall: a PowerShell script of New-NetFirewallRule calls in one rule
 * group, removed first so running it twice changes nothing; each rule has its netsh
 * equivalent in a comment for older systems.
 */
import { commentedLines, headerLines } from './plan.js';
import type { FirewallBackend, PlannedRule, PortSpan, RenderedFile, RulePlan } from './types.js';

function psQuote(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

function portList(ports: readonly PortSpan[]): string {
  return ports.map((span) => (span.start === span.end ? `${span.start}` : `${span.start}-${span.end}`)).join(',');
}

function ruleLines(rule: PlannedRule): string[] {
  const inbound = rule.direction === 'in';
  const protocol = rule.protocol.toUpperCase();
  const ports = portList(rule.ports);
  const name = `${rule.id} ${protocol} ${inbound ? 'in' : 'out'}`;
  const remotes = rule.remotes.map((remote) => remote.cidr).join(',');
  const args = [
    '-Group $group',
    `-DisplayName ${psQuote(name)}`,
    `-Direction ${inbound ? 'Inbound' : 'Outbound'}`,
    '-Action Allow',
    `-Protocol ${protocol}`,
    inbound ? `-LocalPort ${psQuote(ports)}` : `-RemotePort ${psQuote(ports)}`,
    rule.group ? `${inbound ? '-LocalAddress' : '-RemoteAddress'} ${rule.group}` : '',
    remotes ? `-RemoteAddress ${psQuote(remotes)}` : '',
  ].filter(Boolean);
  const netsh = [
    `netsh advfirewall firewall add rule name="${name}" dir=${inbound ? 'in' : 'out'} action=allow protocol=${protocol}`,
    inbound ? `localport=${ports}` : `remoteport=${ports}`,
    rule.group ? `${inbound ? 'localip' : 'remoteip'}=${rule.group}` : '',
    remotes ? `remoteip=${remotes}` : '',
  ].filter(Boolean);
  return [`New-NetFirewallRule ${args.join(' ')} | Out-Null`, `# ${netsh.join(' ')}`];
}

/** The PowerShell script for a plan. */
export function renderWindows(plan: RulePlan): string {
  return [
    ...headerLines(plan, 'Windows Defender Firewall (PowerShell, run elevated)').map((line) => `# ${line}`),
    `$group = ${psQuote(`porthole ${plan.manifest}`)}`,
    '# Remove the rules of an earlier run first, so running this again changes nothing.',
    'Get-NetFirewallRule -Group $group -ErrorAction SilentlyContinue | Remove-NetFirewallRule',
    ...commentedLines(plan.rules, ruleLines),
    '',
  ].join('\r\n');
}

/** The Windows backend. */
export const windowsBackend = {
  target: 'windows',
  render: (plan: RulePlan): RenderedFile[] => [{ name: `porthole-${plan.manifest}.ps1`, content: renderWindows(plan) }],
} satisfies FirewallBackend;
