/**
 * The host firewall opened and closed for good (`porthole firewall --apply/--remove`, the page's
 * "Open the host firewall"), through the host interface: nftables on Linux, Windows Defender
 * Firewall's `porthole` rule group, a pf anchor on macOS. Without elevation it rejects with
 * E_PERMISSION whose `data.commands` are the exact lines to run in an elevated prompt.
 */
import { planRules, type RulePlan, resolveManifestNames } from '../firewall/index.js';
import type { FirewallChange, FirewallCommands } from '../host/index.js';
import { loadManifestOrPorts, type Manifest } from '../manifest/index.js';
import { RunSession, type SessionOptions } from './session.js';

/** What to open or close. */
export interface HostFirewallOptions extends Omit<SessionOptions, 'purpose' | 'onProgress'> {
  /** Ports (`7001,7002/udp`), a manifest file's path, or a loaded manifest. */
  readonly ports: string | Manifest;
  /** Windows: the profile the network in use has (default), or every profile. */
  readonly profiles?: 'active' | 'all';
}

/** What opening did: the plan, what changed, and the lines to undo it by hand. */
export interface HostFirewallOpening {
  readonly plan: RulePlan;
  readonly change: FirewallChange;
  readonly commands: FirewallCommands;
}

async function planOf(session: RunSession, ports: string | Manifest): Promise<RulePlan> {
  const manifest = typeof ports === 'string' ? await loadManifestOrPorts(ports) : ports;
  return planRules(manifest, await resolveManifestNames(manifest, undefined, session.abort));
}

/** Opens the host firewall for the ports' inbound rules (all or nothing). */
export async function openHostFirewall(options: HostFirewallOptions): Promise<HostFirewallOpening> {
  const session = new RunSession({ ...options, purpose: 'diagnose' });
  const plan = await planOf(session, options.ports);
  const profiles = options.profiles ? { profiles: options.profiles } : {};
  const change = await session.host.firewall.applyRules(plan, { ...session.abort, ...profiles });
  return { plan, change, commands: session.host.firewall.commandsFor(plan, profiles) };
}

/** Removes what openHostFirewall added for the ports' manifest (nothing there: an empty change). */
export async function closeHostFirewall(options: HostFirewallOptions): Promise<FirewallChange> {
  const session = new RunSession({ ...options, purpose: 'diagnose' });
  const manifest = typeof options.ports === 'string' ? await loadManifestOrPorts(options.ports) : options.ports;
  return session.host.firewall.removeRules(manifest.name, session.abort);
}
