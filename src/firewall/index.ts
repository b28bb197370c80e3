/** Public face of src/firewall: rules for six firewalls from a manifest, and nftables apply/inspect on Linux. */
import { firewalldBackend } from './firewalld.js';
import { iptablesBackend } from './iptables.js';
import { nftablesBackend } from './nftables.js';
import { pfBackend } from './pf.js';
import type { FirewallBackend, FirewallTarget } from './types.js';
import { ufwBackend } from './ufw.js';
import { windowsBackend } from './windows.js';

export { type ApplyResult, applyNftables, type RemoveResult, removeNftables } from './apply.js';
export {
  defaultInterface,
  inspectPort,
  type LiveRuleset,
  type PortAnswer,
  type PortQuestion as FirewallPortQuestion,
  readLiveRuleset,
} from './inspect.js';
export { nftTableName } from './nftables.js';
export { type NameResolver, planRules, type Resolutions, resolveManifestNames, systemResolver } from './plan.js';
export { PIPE_READERS, type PipedOutput, pipedFile } from './stdout.js';
export {
  FIREWALL_TARGETS,
  type FirewallBackend,
  type FirewallTarget,
  type PlannedRule,
  type RenderedFile,
  type RulePlan,
} from './types.js';

/** Every backend, by target. */
export const backends: Readonly<Record<FirewallTarget, FirewallBackend>> = {
  nftables: nftablesBackend,
  iptables: iptablesBackend,
  ufw: ufwBackend,
  firewalld: firewalldBackend,
  windows: windowsBackend,
  pf: pfBackend,
};
export type { Evaluation } from './evaluate.js';
