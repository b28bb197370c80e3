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
export {
  type CheckReachableOptions,
  type CleanupItem,
  type CleanupReport,
  checkReachable,
  cleanupLeftovers,
  type DiagnoseOptions,
  type Diagnosis,
  diagnose,
  type ExposeOptions,
  type ExposeResult,
  expose,
  type FirewallPlan,
  type KeepPortMappedOptions,
  keepPortMapped,
  type MapPortOptions,
  mapPort,
  type PlanFirewallOptions,
  PortKeeper,
  type PortKeeperEvents,
  type PortMapping,
  type ProgressEvent,
  planFirewall,
  type Reachability,
  RunSession,
  type SessionOptions,
  unmapPort,
} from './library/index.js';
export type { Manifest } from './manifest/index.js';
/** The NAT diagnosis's pure verdict (`judge` in porthole/nat). */
export { judge as judgeNat } from './nat/index.js';
export { type PortRange, parsePortSpec, type Transport } from './net/index.js';
export { isReachable, type ProbeResult, type ProbeState, type Reach, reachOf } from './probe/index.js';
