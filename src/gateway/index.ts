/** Public face of src/gateway: discovery, one mapping interface over UPnP IGD, NAT-PMP and PCP, keeping. */
export { type DiscoveryOptions, discoverGateways, type GatewayInfo } from './discovery.js';
export { epochShowsRestart, type KeeperEvent, type KeeperOptions, keepMapping, renewAfterSeconds } from './keeper.js';
export {
  clientFor,
  clientsFor,
  discoverPrimaryGateway,
  enoughToMap,
  listingOf,
  METHOD_PREFERENCE,
  mapWithBest,
  withUpnp,
} from './mappingSession.js';
export { createNatpmpClient } from './natpmp.js';
export { createPcpClient } from './pcp.js';
export {
  closePinholes,
  discoverPinholeGateway,
  mapPinhole,
  openPinhole,
  PINHOLE_PREFERENCE,
  type PinholeDiscoveryOptions,
  type PinholeGateway,
  type PinholeRemoval,
  pinholeClientFor,
} from './pinhole.js';
export { type RefusalMeaning, type RefusalReason, refusalMeaning } from './refusal.js';
export {
  askPermission,
  type PermissionAnswer,
  type RemovalQuery,
  type RemovalReport,
  removeMappings,
  type SeenMapping,
  type SeeOptions,
  seeMappings,
} from './routerView.js';
/** SSDP's M-SEARCH and the safe XML parser, which LAN discovery (src/discovery) shares. */
export { decodeSsdpAnswer, encodeMSearch, MAX_SSDP_BYTES, SSDP_ADDRESS, SSDP_PORT } from './ssdpCodec.js';
export { forgetMappings, mappingStatePath, readMappingState, recordMapping, type StoredMapping } from './state.js';
export type { Mapping, MappingClient, MappingEntry, MappingMethod, MappingRequest } from './types.js';
export { createUpnpClient } from './upnp.js';
export {
  createUpnpPinholeClient,
  explainPinholeRefusal,
  type FirewallStatus,
  PINHOLE_ERRORS,
  PinholeActionError,
} from './upnpPinhole.js';
export { child, list, parseRouterXml, text, type XmlNode } from './xml.js';
