/**
 * The contracts of src/host: this machine, behind one interface with a Linux, a Windows and a
 * macOS adapter. The doctor, expose and the firewall command see the host only through `Host`:
 * who listens on a port (and which program), whether the host firewall lets it in (and why not,
 * by name), the connections that prove a check reached this machine, opening and closing the
 * host firewall, addresses, folders, and whether this process may change the firewall.
 *
 * Adapters read structured output only (JSON, `lsof -F` fields, /proc): never text a system
 * translates into its user's language. Every command goes through an injected runner, so the
 * Windows and macOS adapters run on Linux in tests, on recorded outputs.
 */
import type { AbortOptions } from '../deadline/index.js';
import type { FirewallTarget, RulePlan } from '../firewall/index.js';
import type { NetworkInterface, Transport } from '../net/index.js';
import type { CommandRunner, FolderKind } from '../system/index.js';

/** The systems porthole knows how to read. */
export type HostSystem = 'linux' | 'windows' | 'macos';

/** A port the doctor asks about. */
export interface PortQuestion {
  readonly protocol: Transport;
  readonly port: number;
}

/** A program holding a socket. */
export interface HostProcess {
  readonly pid: number;
  /** Its short name: `nginx`, `MediaServer.exe`. */
  readonly name: string;
  /** Its program file, when the system shows it (Windows and macOS do; Linux from /proc/PID/exe as root). */
  readonly path?: string;
}

/** A socket bound to a port on this host. */
export interface PortListener {
  readonly protocol: Transport;
  /** The address it is bound to: `0.0.0.0`, `::`, `127.0.0.1`, a LAN address. */
  readonly address: string;
  readonly port: number;
  readonly process?: HostProcess;
}

/** A TCP connection among this host's sockets (to find the checker's probe: identity by connection). */
export interface HostConnection {
  readonly localAddress: string;
  readonly localPort: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
}

/**
 * Why the host firewall lets the port in or not, by name: the doctor's words and the fix follow
 * from it. Block wins over allow everywhere.
 */
export type FirewallReason =
  /** A rule (or the policy) admits it. */
  | 'allowed'
  /** No firewall filters inbound traffic here (off for the network in use, or none running). */
  | 'not-filtering'
  /** A block/drop/reject rule matches it. */
  | 'blocked-by-rule'
  /** Nothing allows it and the default inbound action blocks. */
  | 'default-block'
  /** Windows: an allow rule exists, but only for a profile the network in use does not have (Private vs Public). */
  | 'rule-for-other-profile'
  /** Windows: an allow rule exists for another program file (the server was moved or updated). */
  | 'rule-for-other-program'
  /** Windows "Block all incoming connections", macOS "Block all incoming connections". */
  | 'block-all-incoming'
  /** macOS Application Firewall: the server's program is set to block incoming connections. */
  | 'app-blocked'
  /** macOS Application Firewall: the server's program is not in its list (macOS asks, or blocks unsigned programs). */
  | 'app-not-listed'
  /** A third-party firewall is registered with the system: porthole cannot read its rules. */
  | 'third-party'
  /** The firewall could not be read (permission, a missing tool, output that did not parse). */
  | 'unreadable';

/** A fix on this host, in its own language. */
export interface HostFix {
  /** What to do, in a plain sentence. */
  readonly text: string;
  /** The exact lines to run (none when the fix is a setting to change by hand). */
  readonly commands: readonly string[];
  /** Which shell the lines are for. */
  readonly shell: 'sh' | 'powershell';
  /** The lines need an elevated prompt (Administrator, root, sudo). */
  readonly elevated: boolean;
  /** Where in the system's settings the same change is made by hand ("Windows Security → ..."). */
  readonly settings?: string;
}

/** The host firewall's answer for one inbound port. */
export interface FirewallAnswer {
  /** Which firewall answered: `nftables`, `Windows Defender Firewall`, `macOS Application Firewall`, `pf`. */
  readonly firewall: string;
  readonly verdict: 'accept' | 'drop' | 'reject' | 'unknown';
  /** False when something the adapter cannot judge might change the outcome (named in the evidence). */
  readonly certain: boolean;
  readonly reason: FirewallReason;
  /** One plain sentence of what was found, for the doctor's checklist. */
  readonly summary: string;
  /** What was read: rule names, the profile, the program path, the packet walked. */
  readonly evidence: readonly string[];
  /** How to let the port in, when it is not. */
  readonly fix?: HostFix;
}

/**
 * An adapter's judgement of one part of a host firewall (a profile, pf, the Application Firewall)
 * before the parts are combined: `unsure` names what it could not judge, and `certain` follows from it.
 */
export type FirewallPart = Omit<FirewallAnswer, 'certain'> & { readonly unsure: readonly string[] };

/** What the host shows about one port. */
export interface PortHostFacts extends PortQuestion {
  /** Sockets bound to the port; undefined when this system does not show them to this process. */
  readonly listeners: readonly PortListener[] | undefined;
  readonly firewall: FirewallAnswer;
}

/** One look at the host for a set of ports. */
export interface HostInspection {
  /** One entry per port asked, in the order asked. */
  readonly ports: readonly PortHostFacts[];
  /** What was read, for evidence (`nft -j list ruleset`, `powershell Get-NetFirewallRule ...`). */
  readonly sources: readonly string[];
  /** Output that could not be used (a partial answer), said rather than dropped. */
  readonly warnings: readonly string[];
}

/** Options for an inspection. */
export interface InspectOptions extends AbortOptions {
  /** How the user named the ports (`7001`, `examples/media-server.yaml`), for the fixes' commands. */
  readonly source?: string;
}

/** Options for applying firewall rules. */
export interface ApplyRulesOptions extends AbortOptions {
  /** Windows: the profile the network in use has (default), or every profile. */
  readonly profiles?: 'active' | 'all';
}

/** What was added to or removed from the host firewall. */
export interface FirewallChange {
  readonly firewall: string;
  /** What holds porthole's rules: an nftables table, a Windows rule group, a pf anchor. */
  readonly container: string;
  /** One line per rule added or removed. */
  readonly rules: readonly string[];
  /** What this system's firewall adds to say (nftables: the chains of other tables also opened). */
  readonly details?: Readonly<Record<string, unknown>>;
}

/** The exact lines to apply or remove a plan by hand, in an elevated prompt. */
export interface FirewallCommands {
  readonly shell: 'sh' | 'powershell';
  readonly apply: readonly string[];
  readonly remove: readonly string[];
}

/** The host firewall: opened for a plan's rules, and closed again, by porthole's own container. */
export interface HostFirewall {
  /** Which of porthole's rule targets this firewall is (`porthole firewall --target`): nftables, windows, pf. */
  readonly target: FirewallTarget;
  /** What holds porthole's rules for a manifest (named before applying, so the run can record it first). */
  container(manifest: string): string;
  /**
   * Adds the plan's inbound rules in porthole's container (all or nothing). Without elevation it
   * rejects with E_PERMISSION whose `data.commands` are the exact lines to run in an elevated prompt.
   */
  applyRules(plan: RulePlan, options?: ApplyRulesOptions): Promise<FirewallChange>;
  /** Removes what applyRules added for a manifest (nothing there: an empty change). */
  removeRules(manifest: string, options?: AbortOptions): Promise<FirewallChange>;
  /** The lines a person runs to do the same by hand. Pure. */
  commandsFor(plan: RulePlan, options?: Pick<ApplyRulesOptions, 'profiles'>): FirewallCommands;
}

/** This machine. */
export interface Host {
  readonly system: HostSystem;
  /**
   * Listeners and the host firewall for these ports, in one look (on Windows, one PowerShell
   * process for all of it: a start costs hundreds of milliseconds there).
   */
  inspect(ports: readonly PortQuestion[], options?: InspectOptions): Promise<HostInspection>;
  /** This host's TCP connections on these local ports; undefined when the system does not show them. */
  connections(localPorts: readonly number[], options?: AbortOptions): Promise<readonly HostConnection[] | undefined>;
  readonly firewall: HostFirewall;
  /** The interfaces and their addresses (each classed public, private, cgnat...). */
  addresses(): readonly NetworkInterface[];
  /** porthole's folder of one kind on this system. */
  folder(kind: FolderKind): string;
  /** Whether this process may change the host firewall (root, an elevated Administrator). */
  isElevated(options?: AbortOptions): Promise<boolean>;
}

/** What every adapter is made with. */
export interface HostOptions {
  /** Runs the system's commands (recorded outputs in tests). */
  readonly runner?: CommandRunner;
  /** Environment for folders (default `process.env`). */
  readonly env?: NodeJS.ProcessEnv;
}
