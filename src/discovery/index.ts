/** Public face of src/discovery: SSDP, mDNS/DNS-SD and WS-Discovery on every interface, and multicast checks. */
export {
  DEFAULT_DISCOVERY_TIMEOUT_MS,
  type DiscoverOptions,
  discover,
  discoverAll,
  typesByProtocol,
} from './discover.js';
export { DnsSdRecords, resolveServices, type ServiceInstance } from './dnssd.js';
export { type Membership, parseProcNetIgmp, parseProcNetIgmp6 } from './igmp.js';
export { planSockets, type SocketPlan } from './interfaces.js';
export {
  decodeMdnsMessage,
  encodeMdnsQuery,
  encodeMdnsResponse,
  MDNS_ADDRESS,
  MDNS_ADDRESS_V6,
  MDNS_PORT,
  type MdnsMessage,
  type MdnsRecord,
} from './mdnsCodec.js';
export {
  type AnnounceQuery,
  checkMulticast,
  checkMulticastEntry,
  judgeAnnounce,
  judgeMembership,
  judgeMulticastFirewall,
  localMulticastHost,
  type MulticastCheckOptions,
  type MulticastFinding,
  type MulticastHost,
} from './multicastCheck.js';
export {
  decodeSsdpMessage,
  encodeSsdpNotify,
  encodeSsdpSearch,
  SSDP_ADDRESS_V6,
  type SsdpMessage,
} from './ssdpCodec.js';
export { DISCOVERY_PROTOCOLS, type DiscoveryAnswer, type DiscoveryProtocol, type ProbeTarget } from './types.js';
export {
  decodeWsdMessage,
  encodeWsdProbe,
  encodeWsdProbeMatches,
  encodeWsdResolveMatches,
  ONVIF_TYPE,
  WSD_PORT,
  type WsdMatch,
  type WsdMessage,
} from './wsdCodec.js';
