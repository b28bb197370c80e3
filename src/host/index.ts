/** Public face of src/host: this machine behind one interface, with a Linux, a Windows and a macOS adapter. */
import { createLinuxHost } from './linux.js';
import type { Host, HostOptions } from './types.js';

export { createLinuxHost, linuxFirewallAnswer } from './linux.js';
export type {
  ApplyRulesOptions,
  FirewallAnswer,
  FirewallChange,
  FirewallCommands,
  FirewallReason,
  Host,
  HostConnection,
  HostFirewall,
  HostFix,
  HostInspection,
  HostOptions,
  HostProcess,
  HostSystem,
  InspectOptions,
  PortHostFacts,
  PortListener,
  PortQuestion,
} from './types.js';

/** The adapter for the system this process runs on. */
export function currentHost(options: HostOptions = {}): Host {
  return createLinuxHost(options);
}
