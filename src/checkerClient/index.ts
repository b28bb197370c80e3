/**
 * Public face of src/checkerClient: asking a check service (`porthole serve`, or a fleet's front)
 * from here: checks of this network's public address, the address it sees, its egress listener,
 * and which of its URLs reach it over IPv4 and IPv6. The service itself is src/checker.
 */
export {
  type CheckerCallOptions,
  type CheckerEndpoint,
  type CheckResponse,
  checkerEndpoints,
  checkerUrl,
  type EgressInfo,
  type FamilyChoice,
  optionalCheckerUrl,
  requestCheck,
  requestEgressInfo,
  requestPublicIp,
} from './client.js';
export { CHECKER_CONNECT_TIMEOUT_MS, portOf, unreachableHint } from './connectWatch.js';
