/**
 * The inspection script's JSON → a typed snapshot. Pure, and tolerant of what differs between
 * PowerShell 5.1 and 7 (see psValues.ts), of a BOM and CRLF, of sections that are null, and of
 * captures that carry more than the script selects (a full `Get-NetFirewallRule | ConvertTo-Json`
 * has CimClass blocks, outbound and disabled rules: they are read past or left out). Output
 * that is not the document at all is a result with the problem named, never an exception.
 */
import type { Transport } from '../../net/index.js';
import { psEnum, psInteger, psList, psObjects, psStrings, psText } from './psValues.js';
import {
  type ThirdPartyFirewall,
  WINDOWS_PROFILES,
  type WindowsNetwork,
  type WindowsProcess,
  type WindowsProfile,
  type WindowsProfileName,
  type WindowsRule,
  type WindowsSnapshot,
  type WindowsSocket,
} from './types.js';

/** A parsed snapshot and what in it could not be used; or why there is no snapshot at all. */
export type WindowsSnapshotResult =
  | { readonly ok: true; readonly snapshot: WindowsSnapshot; readonly warnings: readonly string[] }
  | { readonly ok: false; readonly problem: string };

// NetSecurity's enums (MSFT_NetFirewallRule, MSFT_NetFirewallProfile): numbers as ConvertTo-Json
// writes them by default, names as `[string]` or -EnumsAsStrings writes them.
const RULE_ENABLED = { byNumber: { 1: true, 2: false }, byName: { true: true, false: false } } as const;
const DIRECTION = { byNumber: { 1: 'inbound', 2: 'outbound' }, byName: { inbound: 'inbound', outbound: 'outbound' } };
const ACTION = {
  byNumber: { 0: 'notconfigured', 2: 'allow', 4: 'block' },
  byName: { notconfigured: 'notconfigured', allow: 'allow', block: 'block' },
} as const;
/** GpoBoolean: False 0, True 1, NotConfigured 2. */
const GPO_BOOLEAN = {
  byNumber: { 0: false, 1: true, 2: 'notconfigured' },
  byName: { false: false, true: true, notconfigured: 'notconfigured' },
} as const;
/** MSFT_NetConnectionProfile.NetworkCategory: Public 0, Private 1, DomainAuthenticated 2. */
const CATEGORY: { byNumber: Record<number, WindowsProfileName>; byName: Record<string, WindowsProfileName> } = {
  byNumber: { 0: 'Public', 1: 'Private', 2: 'Domain' },
  byName: { public: 'Public', private: 'Private', domainauthenticated: 'Domain', domain: 'Domain' },
};
/** The Profile flags enum: Any 0, Domain 1, Private 2, Public 4. */
const PROFILE_BITS: readonly [WindowsProfileName, number][] = [
  ['Domain', 1],
  ['Private', 2],
  ['Public', 4],
];

/**
 * The JSON document inside the output: after a BOM, and between the first `{` and the last `}`;
 * or why there is none (an output that is not the document is a result to say, not an exception).
 */
function documentOf(text: string): { readonly document: unknown } | { readonly problem: string } {
  const clean = text.replace(/^\uFEFF/, '');
  const start = clean.indexOf('{');
  const end = clean.lastIndexOf('}');
  if (start < 0 || end < start) return { problem: 'no JSON object in it' };
  try {
    return { document: JSON.parse(clean.slice(start, end + 1)) };
  } catch (error) {
    return { problem: (error as Error).message };
  }
}

/** The profiles a rule applies to, from the flags number or its string form; undefined if unreadable. */
export function parseProfileSet(value: unknown): readonly WindowsProfileName[] | 'any' | undefined {
  const number = psInteger(value);
  if (number !== undefined) {
    if (number === 0 || (number & 7) === 7) return 'any';
    return PROFILE_BITS.filter(([, bit]) => (number & bit) !== 0).map(([name]) => name);
  }
  const text = psText(value);
  if (text === undefined) return undefined;
  const words = text
    .split(',')
    .map((word) => word.trim().toLowerCase())
    .filter(Boolean);
  if (words.includes('any')) return 'any';
  const names = WINDOWS_PROFILES.filter((name) => words.includes(name.toLowerCase()));
  if (names.length === 0) return undefined;
  return names.length === WINDOWS_PROFILES.length ? 'any' : names;
}

function parseProfiles(section: unknown, warnings: string[]): WindowsProfile[] {
  const profiles: WindowsProfile[] = [];
  for (const item of psObjects(section)) {
    // A full Get-NetFirewallProfile capture has Name and Profile; the script selects Name.
    const name = CATEGORY.byName[(psText(item.Name) ?? psText(item.Profile) ?? '').toLowerCase()];
    if (!name) {
      warnings.push(`a firewall profile without a known name (${JSON.stringify(item.Name ?? item.Profile)})`);
      continue;
    }
    const enabled = psEnum(item.Enabled, GPO_BOOLEAN.byNumber, GPO_BOOLEAN.byName);
    const inbound = psEnum(item.DefaultInboundAction, ACTION.byNumber, ACTION.byName);
    const allowRules = psEnum(item.AllowInboundRules, GPO_BOOLEAN.byNumber, GPO_BOOLEAN.byName);
    if (enabled === undefined || inbound === undefined || allowRules === undefined) {
      warnings.push(`the ${name} profile has values porthole does not know; it is read as Windows' defaults`);
    }
    // NotConfigured (and unknown) are Windows' defaults: filtering on, inbound blocked, rules honoured.
    profiles.push({
      name,
      enabled: enabled !== false,
      defaultInbound: inbound === 'allow' ? 'allow' : 'block',
      allowInboundRules: allowRules !== false,
    });
  }
  return profiles;
}

function parseNetworks(section: unknown, warnings: string[]): WindowsNetwork[] {
  const networks: WindowsNetwork[] = [];
  for (const item of psObjects(section)) {
    const profile = psEnum(item.NetworkCategory, CATEGORY.byNumber, CATEGORY.byName);
    const name = psText(item.Name) ?? '?';
    if (!profile) {
      warnings.push(`network ${name} has an unknown category (${JSON.stringify(item.NetworkCategory)})`);
      continue;
    }
    networks.push({ name, interfaceAlias: psText(item.InterfaceAlias) ?? '?', profile });
  }
  return networks;
}

/** Filter rows by InstanceID (a filter without one cannot be joined and is dropped). */
function byInstance(section: unknown): Map<string, Record<string, unknown>> {
  const rows = new Map<string, Record<string, unknown>>();
  for (const row of psObjects(section)) {
    const id = psText(row.InstanceID);
    if (id !== undefined) rows.set(id, row);
  }
  return rows;
}

interface FilterSections {
  readonly ports: unknown;
  readonly addresses: unknown;
  readonly applications: unknown;
}

function parseRules(section: unknown, filters: FilterSections, warnings: string[]): WindowsRule[] {
  const ports = byInstance(filters.ports);
  const addresses = byInstance(filters.addresses);
  const applications = byInstance(filters.applications);
  const rules: WindowsRule[] = [];
  let unknown = 0;
  for (const item of psObjects(section)) {
    const id = psText(item.InstanceID) ?? psText(item.Name);
    // A full capture lists disabled and outbound rules too; the script asks only for the others.
    const enabled = psEnum(item.Enabled, RULE_ENABLED.byNumber, RULE_ENABLED.byName);
    const direction = psEnum(item.Direction, DIRECTION.byNumber, DIRECTION.byName);
    const action = psEnum(item.Action, ACTION.byNumber, ACTION.byName);
    const profiles = parseProfileSet(item.Profiles ?? item.Profile);
    if (id === undefined || enabled === undefined || direction === undefined || action === undefined || !profiles) {
      unknown++;
      continue;
    }
    if (!enabled || direction !== 'inbound' || action === 'notconfigured') continue;
    const port = ports.get(id);
    const address = addresses.get(id);
    const application = applications.get(id);
    rules.push({
      id,
      displayName: psText(item.DisplayName) ?? id,
      action,
      profiles,
      protocol: port ? (psText(port.Protocol) ?? 'Any') : undefined,
      localPorts: port ? (psStrings(port.LocalPort) ?? ['Any']) : undefined,
      remoteAddresses: address ? (psStrings(address.RemoteAddress) ?? ['Any']) : undefined,
      program: application ? (psText(application.Program) ?? 'Any') : undefined,
    });
  }
  if (unknown > 0) warnings.push(`${unknown} firewall rule(s) had values porthole could not read and were left out`);
  return rules;
}

function parseSockets(tcp: unknown, udp: unknown): WindowsSocket[] | undefined {
  if ((tcp === null || tcp === undefined) && (udp === null || udp === undefined)) return undefined;
  const read = (section: unknown, protocol: Transport) =>
    psObjects(section).flatMap((row): WindowsSocket[] => {
      const port = psInteger(row.LocalPort);
      const pid = psInteger(row.OwningProcess);
      const address = psText(row.LocalAddress);
      return port !== undefined && pid !== undefined && address !== undefined ? [{ protocol, address, port, pid }] : [];
    });
  return [...read(tcp, 'tcp'), ...read(udp, 'udp')];
}

function parseProcesses(section: unknown): WindowsProcess[] {
  return psObjects(section).flatMap((row): WindowsProcess[] => {
    const pid = psInteger(row.Id);
    if (pid === undefined) return [];
    const path = psText(row.Path) || undefined;
    const base = path?.split('\\').pop();
    return [{ pid, name: base ?? `${psText(row.ProcessName) ?? '?'}.exe`, path }];
  });
}

/** productState's product nibble (iwscapi WSC_SECURITY_PRODUCT_STATE): off 0, on 1, snoozed 2, expired 3. */
function productState(value: unknown): ThirdPartyFirewall['state'] {
  const state = psInteger(value);
  if (state === undefined) return 'unknown';
  return (['off', 'on', 'snoozed', 'expired'] as const)[(state >> 12) & 0xf] ?? 'unknown';
}

function parseSecurityCenter(section: unknown): ThirdPartyFirewall[] | undefined {
  if (section === null || section === undefined) return undefined;
  return psObjects(section).map((row) => ({
    name: psText(row.displayName) ?? '?',
    state: productState(row.productState),
  }));
}

/** Sections a document from the script always has; one missing means the output was cut short. */
const EXPECTED_SECTIONS = ['tcp', 'udp', 'profiles', 'networks', 'rules', 'portFilters', 'applicationFilters'];

/** The inspection script's output → a snapshot, with what could not be used said. Pure. */
export function parseWindowsSnapshot(text: string): WindowsSnapshotResult {
  const read = documentOf(text);
  if ('problem' in read) {
    const start = text
      .replace(/^\uFEFF/, '')
      .trim()
      .slice(0, 80);
    return {
      ok: false,
      problem: `the PowerShell output is not the expected JSON document (${read.problem}; it begins ${JSON.stringify(start)})`,
    };
  }
  const { document } = read;
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    return { ok: false, problem: 'the PowerShell output is JSON but not an object' };
  }
  const doc = document as Record<string, unknown>;
  const warnings: string[] = [];
  const sectionErrors = psStrings(doc.errors) ?? [];
  for (const name of EXPECTED_SECTIONS) {
    if (!(name in doc)) warnings.push(`the PowerShell output has no ${name} section (cut short?)`);
  }
  const present = (name: string) => doc[name] !== null && doc[name] !== undefined;
  const snapshot: WindowsSnapshot = {
    powershellVersion: psText(doc.psVersion),
    elevated: typeof doc.elevated === 'boolean' ? doc.elevated : undefined,
    sockets: parseSockets(doc.tcp, doc.udp),
    processes: parseProcesses(doc.processes),
    profiles: present('profiles') ? parseProfiles(doc.profiles, warnings) : undefined,
    networks: present('networks') ? parseNetworks(doc.networks, warnings) : undefined,
    rules: present('rules')
      ? parseRules(
          doc.rules,
          { ports: doc.portFilters, addresses: doc.addressFilters, applications: doc.applicationFilters },
          warnings,
        )
      : undefined,
    thirdParty: parseSecurityCenter(doc.securityCenter),
    sectionErrors,
  };
  if (psList(doc.rules).length > 0 && !present('portFilters')) {
    warnings.push('the rules came without their port filters: which ports they open is unknown');
  }
  return { ok: true, snapshot, warnings };
}

/** What the elevation probe says: elevated or not, and the profiles of the connected networks. */
export interface WindowsProbe {
  readonly elevated: boolean;
  readonly profiles: readonly WindowsProfileName[];
}

/** The probe script's output → elevation and profiles in use; undefined when it is not that document. Pure. */
export function parseWindowsProbe(text: string): WindowsProbe | undefined {
  const read = documentOf(text);
  if ('problem' in read) return undefined;
  const doc = read.document as Record<string, unknown>;
  if (typeof doc.elevated !== 'boolean') return undefined;
  const profiles = psList(doc.categories)
    .map((category) => psEnum(category, CATEGORY.byNumber, CATEGORY.byName))
    .filter((profile): profile is WindowsProfileName => profile !== undefined);
  return { elevated: doc.elevated, profiles: [...new Set(profiles)] };
}
