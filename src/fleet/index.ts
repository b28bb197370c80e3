/** Public face of src/fleet: vantages and fronts of the check service over NATS, and the fleet client. */
export { type NatsCredentials, parseNatsCredentials } from './auth.js';
export { requestFleetCheck } from './client.js';
export { decodeSignedOrder, encodeSignedOrder } from './codec.js';
export { connectFleet, type NatsSettings } from './connection.js';
export { buildFront, type FrontOptions, type RunningFront, startFront } from './front.js';
export { judgeVantages, leastReachableResults } from './judge.js';
export { loadFrontPublicKey, loadOrCreateSigningKey, type SigningKey } from './keys.js';
export { parseVantageSelector } from './request.js';
export { Roster } from './roster.js';
export type {
  CheckOrder,
  CombinedReachability,
  CombinedVerdict,
  FleetCheckResponse,
  PortVerdict,
  VantageAnswer,
  VantageHeartbeat,
} from './types.js';
export { type RunningVantage, startVantage, type VantageOptions, type VantageStats } from './vantage.js';
