/**
 * porthole's library: the few calls a vendor needs to make a server reachable and prove it.
 * Each module's full face is a subpath (`porthole/gateway`, `porthole/nat`, ...); see docs/library.md.
 */

export { type AbortOptions, withDeadline } from './deadline/index.js';
export type { Finding, FindingStatus } from './doctor/index.js';
/** The doctor's pure verdict over gathered facts (`judge` in porthole/doctor). */
export { judge as judgeDoctor } from './doctor/index.js';
export {
  type ErrorCode,
  errorCodes,
  errorRegistry,
  isPortholeError,
  PortholeError,
  type PortholeErrorOptions,
} from './errors/index.js';
export type { FirewallTarget, RenderedFile, RulePlan } from './firewall/index.js';
export { type DiscoveryOptions, discoverGateways, type GatewayInfo, type MappingMethod } from './gateway/index.js';
export { type CheckReachableOptions, checkReachable, type Reachability } from './library/checkReachable.js';
export { type CleanupItem, type CleanupReport, cleanupLeftovers } from './library/cleanup.js';
export { type DiagnoseOptions, type Diagnosis, diagnose } from './library/diagnose.js';
export {
  type KeepPortMappedOptions,
  keepPortMapped,
  PortKeeper,
  type PortKeeperEvents,
} from './library/keepPortMapped.js';
export { type MapPortOptions, mapPort, type PortMapping, unmapPort } from './library/mapPort.js';
export { type FirewallPlan, type PlanFirewallOptions, planFirewall } from './library/planFirewall.js';
export type { Manifest } from './manifest/index.js';
/** The NAT diagnosis's pure verdict (`judge` in porthole/nat). */
export { judge as judgeNat } from './nat/index.js';
export { type PortRange, parsePortSpec, type Transport } from './net/index.js';
export type { ProbeResult, ProbeState } from './probe/index.js';
