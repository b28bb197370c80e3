/**
 * Public face of src/library: the only orchestrator. Each call runs in a run session (gateways
 * discovered once, what the run made undone on the way out, progress said as it happens); the
 * command line and the local page call these and print.
 */
export { type CheckReachableOptions, checkReachable, type Reachability } from './checkReachable.js';
export { type CleanupItem, type CleanupOptions, type CleanupReport, cleanupLeftovers } from './cleanup.js';
export { type DiagnoseOptions, type Diagnosis, diagnose, diagnoseIn } from './diagnose.js';
export { type ExposeOptions, type ExposeResult, expose, exposeIn, ROADS } from './expose.js';
export { describeMapping, type HeldMapping, holdMapping, type KeptMapping, sameMapping } from './heldMapping.js';
export {
  closeHostFirewall,
  type HostFirewallOpening,
  type HostFirewallOptions,
  openHostFirewall,
} from './hostFirewall.js';
export { doctorOptionsOf, type RunInputs, relaySettingsOf, relayUrlWithUser } from './inputs.js';
export {
  type KeepPortMappedOptions,
  keepPortMapped,
  PortKeeper,
  type PortKeeperEvents,
} from './keepPortMapped.js';
export { deadOwnerRecords, type LeftoverRecord } from './leftovers.js';
export { type MapPortOptions, mapPort, type PortMapping, unmapPort } from './mapPort.js';
export { addressSource, commonUpdate, type NameSettings, readPasswordFile } from './nameSettings.js';
export { type FirewallPlan, type PlanFirewallOptions, planFirewall } from './planFirewall.js';
export { isKeepStatus, type KeepStatus, type ProgressEvent, type RoadEvent, type RoadName } from './progress.js';
export type { ExposeRequest, RelaySettings, Road, RoadOutcome, RoadReport } from './roads/types.js';
export {
  type ListedGateway,
  listGateways,
  listMappings,
  type MappingList,
  type PortRemoval,
  type RemovePortOptions,
  type RouterOptions,
  removePortMappings,
} from './routerMappings.js';
export {
  DISCOVERY_GRACE_MS,
  type DiscoveryPurpose,
  type Holding,
  type LeftBehind,
  RunSession,
  type SessionOptions,
} from './session.js';
