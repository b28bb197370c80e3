/** Public face of src/nat: STUN, RFC 5780 behaviour discovery, and the NAT diagnosis. */
export { discoverNatBehavior, type NatBehavior, type StunFindings } from './behavior.js';
export { type AddressSighting, diagnoseNat, judge, type NatDiagnosis, type NatOptions, summarize } from './diagnose.js';
export { type Hop, parseTracepath, tracePath } from './path.js';
export { type StunResponderOptions, startStunResponder } from './responder.js';
export { decodeStunMessage, encodeStunMessage, type StunAddress } from './stunCodec.js';
export { stunServer } from './stunServer.js';
