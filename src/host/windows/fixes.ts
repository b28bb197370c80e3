/**
 * Fixes for a port Windows Defender Firewall keeps out, as exact PowerShell lines (run in an
 * elevated prompt) and the place in Windows Security where a person can click instead. Rules
 * are named by InstanceID (`-Name`), which is the same in every language; the DisplayName a
 * person sees is translated. Pure.
 */
import type { HostFix, PortQuestion } from '../types.js';
import { psQuote } from './script.js';
import type { WindowsProfileName, WindowsRule } from './types.js';

/** The group every rule porthole adds belongs to, so `Get-NetFirewallRule -Group porthole` finds them all. */
export const PORTHOLE_GROUP = 'porthole';

/** Where the same change is made by hand. */
export const ALLOW_APP_SETTINGS = 'Windows Security → Firewall & network protection → Allow an app through firewall';

function profileList(profiles: readonly WindowsProfileName[]): string {
  return profiles.join(', ');
}

/** The one-line rule that lets the port in on the profiles in use. */
export function newRuleLine(question: PortQuestion, profiles: readonly WindowsProfileName[]): string {
  const protocol = question.protocol.toUpperCase();
  return [
    'New-NetFirewallRule',
    `-Group ${PORTHOLE_GROUP}`,
    `-Name ${psQuote(`porthole-doctor-${question.port}-${question.protocol}`)}`,
    `-DisplayName ${psQuote(`porthole ${question.port}/${protocol} in`)}`,
    '-Direction Inbound -Action Allow',
    `-Protocol ${protocol}`,
    `-LocalPort ${question.port}`,
    `-Profile ${profileList(profiles)}`,
  ].join(' ');
}

/** No rule lets the port in: add porthole's. */
export function addRuleFix(question: PortQuestion, profiles: readonly WindowsProfileName[]): HostFix {
  return {
    text: `Add an inbound rule for ${question.port}/${question.protocol.toUpperCase()} in porthole's rule group`,
    commands: [newRuleLine(question, profiles)],
    shell: 'powershell',
    elevated: true,
    settings: ALLOW_APP_SETTINGS,
  };
}

/** An allow rule exists for other profiles: extend it to the profile in use. */
export function extendProfileFix(rule: WindowsRule, add: readonly WindowsProfileName[]): HostFix {
  const current = rule.profiles === 'any' ? [] : rule.profiles;
  const profiles = [...new Set([...current, ...add])];
  return {
    text: `Let the rule "${rule.displayName}" apply on the ${profileList(add)} network too`,
    commands: [`Set-NetFirewallRule -Name ${psQuote(rule.id)} -Profile ${profileList(profiles)}`],
    shell: 'powershell',
    elevated: true,
    settings: `${ALLOW_APP_SETTINGS} (tick ${profileList(add)} for it)`,
  };
}

/** An allow rule names another program file: point it at the one that holds the port now. */
export function retargetProgramFix(rule: WindowsRule, program: string): HostFix {
  return {
    text: `Point the rule "${rule.displayName}" at the program that listens now`,
    commands: [`Set-NetFirewallRule -Name ${psQuote(rule.id)} -Program ${psQuote(program)}`],
    shell: 'powershell',
    elevated: true,
    settings: ALLOW_APP_SETTINGS,
  };
}

/** Block rules win over allow rules: the only way in is without them. */
export function disableBlockFix(rules: readonly WindowsRule[]): HostFix {
  return {
    text: `If the block is not wanted, disable ${rules.length === 1 ? 'the block rule' : 'the block rules'} (block wins over allow in Windows Defender Firewall)`,
    commands: rules.map((rule) => `Set-NetFirewallRule -Name ${psQuote(rule.id)} -Enabled False`),
    shell: 'powershell',
    elevated: true,
    settings: 'Windows Defender Firewall with Advanced Security → Inbound Rules → the rule → Disable Rule',
  };
}

/** "Block all incoming connections" ignores every allow rule: turn it off (and add a rule when none would let the port in). */
export function allowRulesFix(profiles: readonly WindowsProfileName[], then: HostFix | undefined): HostFix {
  return {
    text: `Turn off "Block all incoming connections" for the ${profileList(profiles)} profile${then ? ', then add a rule for the port' : ''}`,
    commands: [
      `Set-NetFirewallProfile -Profile ${profileList(profiles)} -AllowInboundRules True`,
      ...(then?.commands ?? []),
    ],
    shell: 'powershell',
    elevated: true,
    settings: `Windows Security → Firewall & network protection → ${profiles[0] ?? 'Public'} network → clear "Blocks all incoming connections, including those in the list of allowed apps"`,
  };
}

/** A third-party firewall decides: porthole can only say where. */
export function thirdPartyFix(names: readonly string[], question: PortQuestion, program: string | undefined): HostFix {
  return {
    text: `Open ${names.join(' and ')} and allow inbound ${question.protocol.toUpperCase()} ${question.port}${program ? ` for ${program}` : ''} there (porthole cannot read or change its rules)`,
    commands: [],
    shell: 'powershell',
    elevated: false,
  };
}
