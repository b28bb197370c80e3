/** Public face of src/probe: connect probes, cooperative UDP probes, proof of identity. */

export { EXPLANATIONS, type Explanation, explain, FOUR_CAUSES, REASON_WORDS, reasonWords } from './explain.js';
export { createProbeHold } from './hold.js';
export { type ProofListeners, startProofListeners } from './listener.js';
export { type PeerIdentity, provePeers, type ReadConnections, type SocketPeer } from './peerProof.js';
export { decodeTcpProof, encodeTcpProbe, MAX_TCP_LINE, newNonce, newProofKey, proofMatches } from './proofCodec.js';
export { probeEntry, probePorts, type ScanOptions } from './scan.js';
export { probeTcp, type TcpProbeOptions } from './tcp.js';
export type { ProbeResult, ProbeState } from './types.js';
export { probeUdp, type UdpProbeOptions } from './udp.js';
export { payloadForPort, UDP_PAYLOADS, type UdpPayload } from './udpPayloads.js';
export { probeUdpService, type UdpServiceProbeOptions } from './udpService.js';
export { answeredFromOutside, isReachable, REACH_OUTCOME, type Reach, reachOf } from './verdict.js';
