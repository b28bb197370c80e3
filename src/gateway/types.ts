/** The contracts of src/gateway: one mapping interface over UPnP IGD, NAT-PMP and PCP. */
import type { AbortOptions } from '../deadline/index.js';
import type { Transport } from '../net/index.js';

/** The protocols routers speak for port mapping. */
export type MappingMethod = 'upnp' | 'natpmp' | 'pcp';

/** An inclusive range of external ports to choose from. */
export interface PortRangeRequest {
  readonly start: number;
  readonly end: number;
}

/** What to map. */
export interface MappingRequest {
  readonly protocol: Transport;
  readonly internalPort: number;
  /**
   * A specific external port, a range (first free wins), `any` (any free port the router will
   * give: for a port it refuses, such as one below 1024), or undefined for the internal port.
   */
  readonly external?: number | PortRangeRequest | 'any';
  /** Requested lifetime in seconds (0 asks UPnP for a permanent mapping). */
  readonly lifetimeSeconds: number;
  /** Text routers show beside the mapping. */
  readonly description: string;
  /**
   * PCP's mapping nonce to ask with (24 hex digits; default: a fresh random one). A caller that
   * records it before asking can delete what a killed process asked for without having seen the answer.
   */
  readonly nonce?: string;
}

/** A mapping the router granted. */
export interface Mapping {
  readonly method: MappingMethod;
  readonly gateway: string;
  readonly protocol: Transport;
  readonly internalAddress: string;
  readonly internalPort: number;
  readonly externalPort: number;
  readonly externalIp: string;
  /** Granted lifetime in seconds; 0 means permanent (UPnP). Renewals go by this, never the asked one. */
  readonly lifetime: number;
  /** What was asked, where the router granted otherwise (a lease clamped to its minimum or maximum). */
  readonly asked?: { readonly lifetime: number };
  /** The text routers show beside it (kept so a renewal does not overwrite it). */
  readonly description?: string;
  /** PCP's mapping nonce, needed to renew or delete it. */
  readonly nonce?: string;
  /** The server epoch at grant time (NAT-PMP, PCP). */
  readonly epoch?: number;
  /** Ports of a requested range found taken before this one, for the user. */
  readonly skipped?: readonly { port: number; why: string }[];
  /**
   * 6 for an IPv6 pinhole (no translation: the external address and port are the host's own),
   * absent or 4 for an IPv4 port mapping.
   */
  readonly family?: 4 | 6;
  /** IGDv2's UniqueID of a pinhole, needed to renew or delete it. */
  readonly pinholeId?: number;
}

/** A mapping as a router lists it. */
export interface MappingEntry {
  readonly protocol: Transport;
  readonly externalPort: number;
  readonly internalAddress: string;
  readonly internalPort: number;
  readonly description: string;
  readonly lifetime: number;
  readonly enabled: boolean;
}

/** One mapping protocol's client, bound to one gateway. All three pass one compliance suite. */
export interface MappingClient {
  readonly method: MappingMethod;
  readonly gateway: string;
  externalIp(options?: AbortOptions): Promise<string>;
  map(request: MappingRequest, options?: AbortOptions): Promise<Mapping>;
  /** Renews a mapping before its lifetime ends (and re-makes it if the router forgot it). */
  renew(mapping: Mapping, options?: AbortOptions): Promise<Mapping>;
  unmap(mapping: Mapping, options?: AbortOptions): Promise<void>;
  /** Mappings the router reports (UPnP), or those this client made (NAT-PMP and PCP cannot list). */
  list(options?: AbortOptions): Promise<MappingEntry[]>;
}
