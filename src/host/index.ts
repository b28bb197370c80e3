/** Public face of src/host: this machine behind one interface, with a Linux, a Windows and a macOS adapter. */
import { createLinuxHost } from './linux.js';
import { createMacosHost } from './macos/index.js';
import type { Host, HostOptions } from './types.js';
import { createWindowsHost } from './windows/index.js';

export { createLinuxHost, linuxFirewallAnswer } from './linux.js';
export { createMacosHost } from './macos/index.js';
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
export { createWindowsHost } from './windows/index.js';

/** The adapter for the system this process runs on (Linux's for every other Unix too). */
export function currentHost(options: HostOptions = {}, platform: NodeJS.Platform = process.platform): Host {
  if (platform === 'win32') return createWindowsHost(options);
  if (platform === 'darwin') return createMacosHost(options);
  return createLinuxHost(options);
}
