/** Public face of src/egress: which outbound ports a network allows, and the listener that answers them. */
export { BROWSER_REFUSED_PORTS, COMMON_EGRESS_PORTS } from './browserPorts.js';
export { type EgressListener, type EgressListenerOptions, newEgressKey, startEgressListener } from './listener.js';
export {
  type EgressPlan,
  type EgressService,
  egressServiceOf,
  type NameResolution,
  needsService,
  planForManifest,
  planForPorts,
  resolveName,
} from './plan.js';
export { removeStaleRedirects } from './redirect.js';
export {
  type EgressResult,
  type EgressState,
  SWEEP_DEFAULTS,
  type SweepOptions,
  type SweepReport,
  type SweepTarget,
  sweepEgress,
} from './sweep.js';
