/** The contracts of discovery: protocols, answers, and what the codecs hand the I/O layer. */

/** The three LAN discovery protocols porthole speaks. */
export type DiscoveryProtocol = 'ssdp' | 'mdns' | 'wsd';

/** Every protocol, in the order the table lists them. */
export const DISCOVERY_PROTOCOLS: readonly DiscoveryProtocol[] = ['ssdp', 'mdns', 'wsd'];

/** One thing that answered: a device, a service instance or an endpoint. */
export interface DiscoveryAnswer {
  readonly protocol: DiscoveryProtocol;
  /** mDNS: the instance name; SSDP: the USN; WS-Discovery: the endpoint reference. */
  readonly name: string;
  /** mDNS: the service type; SSDP: the ST or NT; WS-Discovery: the Types list. */
  readonly type: string;
  /** Where the service is: mDNS the host's A/AAAA, SSDP the LOCATION's host, WSD the XAddrs' host. */
  readonly address: string;
  /** The service's port (mDNS SRV, or the URL's port); null when the answer names none. */
  readonly port: number | null;
  /** The interface the answer arrived on. */
  readonly interface: string;
  /** Who sent the answer, `address:port`. */
  readonly from: string;
  /** Protocol details for JSON: LOCATION and SERVER, TXT and host name, XAddrs and Scopes. */
  readonly details: Readonly<Record<string, string | readonly string[]>>;
}

/** A destination a probe goes to: the multicast group, or a unicast address in tests. */
export interface ProbeTarget {
  readonly address: string;
  readonly port: number;
}
