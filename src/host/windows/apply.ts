/**
 * A plan's inbound rules as Windows Defender Firewall rules in ONE rule group, `porthole`: a
 * rule per entry and protocol, named `porthole-<manifest>-<entry>-<protocol>` so the rules of one
 * manifest are found (and removed) inside the group. Rules apply to the profile the network in
 * use has, or to every profile when asked. The lines are what an elevated prompt runs by hand;
 * the adapter runs the same lines in one PowerShell process that removes what it added when any
 * line fails. Pure. (src/firewall/windows.ts renders a whole script with its own group per
 * manifest and the netsh equivalents, for people who keep the file.)
 */
import type { PlannedRule, RulePlan } from '../../firewall/index.js';
import type { FirewallCommands } from '../types.js';
import { PORTHOLE_GROUP } from './fixes.js';
import { psQuote } from './script.js';
import type { WindowsProfileName } from './types.js';

/** Which profiles the rules get: concrete names, every profile, or the ones in use when the lines run. */
export type RuleProfiles = readonly WindowsProfileName[] | 'all' | 'in-use';

/** The variable the by-hand lines compute the profiles in use into. */
const PROFILES_VARIABLE = '$portholeProfiles';

/**
 * Computes the profiles of the connected networks when the lines run (NetworkCategory: Public 0,
 * Private 1, DomainAuthenticated 2, whose profile is Domain).
 */
const PROFILES_IN_USE_LINE = `${PROFILES_VARIABLE} = @(Get-NetConnectionProfile | ForEach-Object { @('Public', 'Private', 'Domain')[[int]$_.NetworkCategory] } | Sort-Object -Unique)`;

/** The name prefix of one manifest's rules. */
export function rulePrefix(manifest: string): string {
  return `porthole-${manifest}-`;
}

/** The rule name for one planned rule. */
export function ruleName(rule: PlannedRule, manifest: string): string {
  return `${rulePrefix(manifest)}${rule.entry}-${rule.protocol}`;
}

function portList(ports: PlannedRule['ports']): string {
  return ports.map((span) => (span.start === span.end ? `${span.start}` : `${span.start}-${span.end}`)).join(',');
}

function profileArgument(profiles: RuleProfiles): string {
  if (profiles === 'all') return 'Any';
  if (profiles === 'in-use') return PROFILES_VARIABLE;
  return profiles.length > 0 ? profiles.join(', ') : 'Public';
}

/** The New-NetFirewallRule line for one inbound rule. */
export function newRuleCommand(rule: PlannedRule, manifest: string, profiles: RuleProfiles): string {
  const protocol = rule.protocol.toUpperCase();
  const remotes = rule.remotes.map((remote) => remote.cidr).join(',');
  return [
    'New-NetFirewallRule',
    `-Group ${PORTHOLE_GROUP}`,
    `-Name ${psQuote(ruleName(rule, manifest))}`,
    `-DisplayName ${psQuote(`porthole ${rule.id} ${protocol} in`)}`,
    '-Direction Inbound -Action Allow',
    `-Protocol ${protocol}`,
    `-LocalPort ${psQuote(portList(rule.ports))}`,
    `-Profile ${profileArgument(profiles)}`,
    ...(rule.group ? [`-LocalAddress ${psQuote(rule.group)}`] : []),
    ...(remotes ? [`-RemoteAddress ${psQuote(remotes)}`] : []),
    '| Out-Null',
  ].join(' ');
}

/** The line that removes one manifest's rules from porthole's group (nothing there: no error). */
export function removeRulesCommand(manifest: string): string {
  return `Get-NetFirewallRule -Group ${PORTHOLE_GROUP} -ErrorAction SilentlyContinue | Where-Object { $_.Name.StartsWith(${psQuote(rulePrefix(manifest))}) } | Remove-NetFirewallRule`;
}

/** The plan's inbound rules (Windows rules here are inbound only: outbound traffic is allowed by default). */
export function inboundRules(plan: RulePlan): PlannedRule[] {
  return plan.rules.filter((rule) => rule.direction === 'in' && rule.ports.length > 0);
}

/** The lines that replace a manifest's rules with the plan's (the old ones removed first). */
export function applyLines(plan: RulePlan, profiles: RuleProfiles): string[] {
  return [
    ...(profiles === 'in-use' ? [PROFILES_IN_USE_LINE] : []),
    removeRulesCommand(plan.manifest),
    ...inboundRules(plan).map((rule) => newRuleCommand(rule, plan.manifest, profiles)),
  ];
}

/** The by-hand lines for the host interface's commandsFor. */
export function windowsCommandsFor(plan: RulePlan, profiles: 'active' | 'all' = 'active'): FirewallCommands {
  return {
    shell: 'powershell',
    apply: applyLines(plan, profiles === 'all' ? 'all' : 'in-use'),
    remove: [removeRulesCommand(plan.manifest)],
  };
}

/**
 * The script the adapter runs: all the lines or none of them (a failing line removes what the
 * earlier ones added, and the error goes to stderr with a non-zero exit).
 */
export function applyScript(lines: readonly string[], manifest: string): string {
  return [
    "$ErrorActionPreference = 'Stop'",
    'try {',
    ...lines.map((line) => `  ${line}`),
    '} catch {',
    `  ${removeRulesCommand(manifest)}`,
    '  throw',
    '}',
  ].join('\n');
}

/** The script that removes a manifest's rules and prints the names it removed (JSON). */
export function removeScript(manifest: string): string {
  return [
    "$ErrorActionPreference = 'Stop'",
    `$gone = @(Get-NetFirewallRule -Group ${PORTHOLE_GROUP} -ErrorAction SilentlyContinue | Where-Object { $_.Name.StartsWith(${psQuote(rulePrefix(manifest))}) })`,
    '$gone | Remove-NetFirewallRule',
    'ConvertTo-Json -Compress -InputObject @($gone | ForEach-Object { $_.Name })',
  ].join('\n');
}
