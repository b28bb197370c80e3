/**
 * What the Windows adapter reads in its one PowerShell run, once parsed: the sockets on the ports
 * asked about and their programs, the Windows Defender Firewall profiles and the profile the
 * network in use has, the enabled inbound rules joined with their port, address and program
 * filters, and the firewalls registered with Windows Security Center. Values are already
 * normalised (enum numbers and names read alike, NotConfigured resolved to Windows' defaults).
 */
import type { Transport } from '../../net/index.js';

/** The three Windows Defender Firewall profiles. */
export type WindowsProfileName = 'Domain' | 'Private' | 'Public';

/** Every profile, in the order Windows lists them. */
export const WINDOWS_PROFILES: readonly WindowsProfileName[] = ['Domain', 'Private', 'Public'];

/** One firewall profile's inbound settings. */
export interface WindowsProfile {
  readonly name: WindowsProfileName;
  /** The firewall filters traffic on networks with this profile. */
  readonly enabled: boolean;
  /** What happens to inbound traffic no rule matches (NotConfigured means block, Windows' default). */
  readonly defaultInbound: 'allow' | 'block';
  /** False is "Block all incoming connections, including those in the list of allowed apps". */
  readonly allowInboundRules: boolean;
}

/** A network the host is connected to, and the profile it is given. */
export interface WindowsNetwork {
  readonly name: string;
  readonly interfaceAlias: string;
  readonly profile: WindowsProfileName;
}

/** An enabled inbound rule with its filters (joined by InstanceID). */
export interface WindowsRule {
  /** InstanceID (the same as Name): stable across languages, what `-Name` takes. */
  readonly id: string;
  /** The name people see, in the system's language. */
  readonly displayName: string;
  readonly action: 'allow' | 'block';
  /** The profiles the rule applies to; `any` for all of them. */
  readonly profiles: readonly WindowsProfileName[] | 'any';
  /** `TCP`, `UDP`, `Any` or a protocol number; undefined when no port filter was read for the rule. */
  readonly protocol: string | undefined;
  /** `Any`, ports, ranges (`5000-5010`) or keywords (`RPC`); undefined when no port filter was read. */
  readonly localPorts: readonly string[] | undefined;
  /** `Any` or addresses and keywords (`LocalSubnet`); undefined when no address filter was read. */
  readonly remoteAddresses: readonly string[] | undefined;
  /** `Any`, `System` or a program file; undefined when no application filter was read. */
  readonly program: string | undefined;
}

/** A listening TCP socket or a bound UDP endpoint. */
export interface WindowsSocket {
  readonly protocol: Transport;
  readonly address: string;
  readonly port: number;
  readonly pid: number;
}

/** A process holding one of those sockets. */
export interface WindowsProcess {
  readonly pid: number;
  readonly name: string;
  /** Undefined when Windows does not show it to this user (another user's or a protected process). */
  readonly path: string | undefined;
}

/** A firewall registered with Windows Security Center (root/SecurityCenter2 FirewallProduct). */
export interface ThirdPartyFirewall {
  readonly name: string;
  /** From productState: on, off, snoozed or expired (unknown when the state could not be read). */
  readonly state: 'on' | 'off' | 'snoozed' | 'expired' | 'unknown';
}

/** Everything one inspection read; a section that could not be read is undefined. */
export interface WindowsSnapshot {
  readonly powershellVersion: string | undefined;
  readonly elevated: boolean | undefined;
  readonly sockets: readonly WindowsSocket[] | undefined;
  readonly processes: readonly WindowsProcess[];
  readonly profiles: readonly WindowsProfile[] | undefined;
  readonly networks: readonly WindowsNetwork[] | undefined;
  readonly rules: readonly WindowsRule[] | undefined;
  /** Undefined when Security Center is absent (Windows Server has no root/SecurityCenter2). */
  readonly thirdParty: readonly ThirdPartyFirewall[] | undefined;
  /** Why a section is missing, as PowerShell said it. */
  readonly sectionErrors: readonly string[];
}
