/**
 * Whether one Windows Defender Firewall rule applies to an inbound packet from the internet:
 * its protocol, local port, program and remote address filters, each answered yes, no or
 * "cannot tell" (named, so the answer can say what it could not judge). Pure.
 */
import type { PortQuestion } from '../types.js';
import type { WindowsProfileName, WindowsRule } from './types.js';

/** A filter's answer: it matches, it does not, or porthole cannot tell (and why). */
export type FilterMatch = { readonly match: true } | { readonly match: false } | { readonly unsure: string };

const YES: FilterMatch = { match: true };
const NO: FilterMatch = { match: false };

/** IANA numbers Windows accepts in place of a protocol's name. */
const PROTOCOL_NUMBERS: Readonly<Record<string, string>> = { '6': 'tcp', '17': 'udp' };

/** The rule's protocol against the packet's. */
export function protocolMatch(rule: WindowsRule, question: PortQuestion): FilterMatch {
  if (rule.protocol === undefined) return { unsure: 'its port filter was not read' };
  const protocol = rule.protocol.trim().toLowerCase();
  if (protocol === 'any') return YES;
  return (PROTOCOL_NUMBERS[protocol] ?? protocol) === question.protocol ? YES : NO;
}

/**
 * The rule's local ports against the packet's: `Any`, numbers and `a-b` ranges. Keywords (RPC,
 * RPCEPMap, IPHTTPSIn, Teredo, PlayToDiscovery...) name system services' ports and never the
 * port of a server someone forwards.
 */
export function portMatch(rule: WindowsRule, question: PortQuestion): FilterMatch {
  if (rule.localPorts === undefined) return { unsure: 'its port filter was not read' };
  for (const item of rule.localPorts) {
    const text = item.trim();
    if (text.toLowerCase() === 'any') return YES;
    const range = /^(\d+)\s*-\s*(\d+)$/.exec(text);
    if (range && question.port >= Number(range[1]) && question.port <= Number(range[2])) return YES;
    if (/^\d+$/.test(text) && Number(text) === question.port) return YES;
  }
  return NO;
}

/** Whether the rule names this port explicitly (not by `Any`). */
export function namesPort(rule: WindowsRule, question: PortQuestion): boolean {
  const explicit = (rule.localPorts ?? []).filter((item) => item.trim().toLowerCase() !== 'any');
  return explicit.length > 0 && matches(portMatch({ ...rule, localPorts: explicit }, question));
}

/** True for a filter that certainly matches. */
export function matches(filter: FilterMatch): boolean {
  return 'match' in filter && filter.match;
}

/** Environment variables Windows' own rules use in program paths, at their default values. */
const PATH_VARIABLES: Readonly<Record<string, string>> = {
  '%systemroot%': 'c:\\windows',
  '%windir%': 'c:\\windows',
  '%systemdrive%': 'c:',
  '%programfiles%': 'c:\\program files',
  '%programfiles(x86)%': 'c:\\program files (x86)',
  '%programdata%': 'c:\\programdata',
};

/** A program path in a comparable form: variables expanded, lower case, backslashes. */
export function comparablePath(path: string): string {
  let text = path.trim().replaceAll('/', '\\').toLowerCase();
  for (const [variable, value] of Object.entries(PATH_VARIABLES)) {
    if (text.startsWith(variable)) text = value + text.slice(variable.length);
  }
  return text;
}

/** The rule's program against the programs holding the port (`System` for HTTP.sys listeners). */
export function programMatch(rule: WindowsRule, programs: readonly string[]): FilterMatch {
  if (rule.program === undefined) return { unsure: 'its application filter was not read' };
  const program = rule.program.trim();
  if (program === '' || program.toLowerCase() === 'any') return YES;
  if (programs.length === 0) return { unsure: `it is for ${program}, and the server's program is not known` };
  const wanted = comparablePath(program);
  return programs.some((path) => comparablePath(path) === wanted) ? YES : NO;
}

/**
 * Keywords for remote addresses that never include an address on the internet (the docs of
 * New-NetFirewallRule -RemoteAddress). `Internet` is the opposite: everything outside Intranet.
 */
const LOCAL_KEYWORDS = new Set([
  'localsubnet',
  'localsubnet4',
  'localsubnet6',
  'intranet',
  'intranetremoteaccess',
  'playtodevice',
  'dns',
  'dhcp',
  'wins',
  'defaultgateway',
]);

/** The rule's remote addresses against a source somewhere on the internet. */
export function remoteMatch(rule: WindowsRule): FilterMatch {
  // The script reads address filters; an older or partial document may not have them.
  if (rule.remoteAddresses === undefined) return { unsure: 'its remote address filter was not read' };
  const items = rule.remoteAddresses.map((item) => item.trim().toLowerCase());
  if (items.length === 0 || items.includes('any') || items.includes('internet')) return YES;
  if (items.every((item) => LOCAL_KEYWORDS.has(item))) return NO;
  return {
    unsure: `it admits only ${rule.remoteAddresses.join(', ')}, and the internet source's address is not known`,
  };
}

/** Whether the rule applies on a profile. */
export function onProfile(rule: WindowsRule, profile: WindowsProfileName): boolean {
  return rule.profiles === 'any' || rule.profiles.includes(profile);
}

/** The whole rule against the packet: every filter must match; the first "no" decides. */
export function ruleMatch(rule: WindowsRule, question: PortQuestion, programs: readonly string[]): FilterMatch {
  const unsure: string[] = [];
  for (const filter of [
    protocolMatch(rule, question),
    portMatch(rule, question),
    programMatch(rule, programs),
    remoteMatch(rule),
  ]) {
    if ('unsure' in filter) unsure.push(filter.unsure);
    else if (!filter.match) return NO;
  }
  return unsure.length > 0 ? { unsure: unsure.join('; ') } : YES;
}
