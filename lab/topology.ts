/**
 * The lab's topologies as data: which namespaces exist, their addresses, and the router's
 * policy switches. Rendering of rulesets and daemon configs is pure and lives in
 * routerConfig.ts; lab.ts turns this into namespaces.
 */

/**
 * The shapes of network the lab builds (PRODUCT.md, "The lab"). `doublenat` is a home router
 * whose WAN sits on the LAN of a second private router (a provider's box in front of the user's
 * own), which masquerades to the internet and forwards only what is set on it by hand.
 */
export type TopologyName = 'home' | 'cgnat' | 'venue' | 'doublenat';

/** The topologies, for argument checking. */
export const TOPOLOGIES: readonly TopologyName[] = ['home', 'cgnat', 'venue', 'doublenat'];

/** What the router does with unsolicited inbound traffic: time out (drop) or refuse (reject). */
export type InboundPolicy = 'drop' | 'reject';

/** Switches a test can set; every field has a default that makes a working home router. */
export interface LabOptions {
  readonly topology: TopologyName;
  /** UPnP IGD on the router's miniupnpd. */
  readonly upnp?: boolean;
  /** NAT-PMP and PCP on the router's miniupnpd (one switch in miniupnpd). */
  readonly natpmp?: boolean;
  /**
   * miniupnpd lets the LAN map external ports 1024-65535 to internal ports below 1024 too (a router
   * that only guards its external side); off, it refuses those as its default rules do.
   */
  readonly lowInternalPorts?: boolean;
  /** Unsolicited inbound traffic at the router's WAN. */
  readonly inbound?: InboundPolicy;
  /** venue only: the outbound TCP ports the router lets out (DNS goes out to the lab's resolver only). */
  readonly egressTcpPorts?: readonly number[];
  /** venue only: the outbound UDP ports the router lets out (none by default). */
  readonly egressUdpPorts?: readonly number[];
  /**
   * venue only: the router captures every outbound TCP connection it does not let out and
   * answers it itself with its own bytes, as a captive portal or transparent proxy does.
   */
  readonly intercept?: boolean;
  /** Names a DNS server (dnsmasq) on the internet host answers; LAN hosts resolve through it. */
  readonly dnsRecords?: Readonly<Record<string, string>>;
  /**
   * Routers as they really are (docs/routers.md). miniupnpd's permission rules in place of the
   * default `allow 1024-65535 LAN 1024-65535`, in its own syntax (`deny 0-65535 192.168.77.10/32
   * 0-65535`); the final `deny` everything is added.
   */
  readonly permissions?: readonly string[];
  /** PCP's lease limits (miniupnpd's min_lifetime/max_lifetime): a lease asked outside them is clamped. */
  readonly pcpLifetime?: { readonly min?: number; readonly max?: number };
  /**
   * A second firewall on the router, in front of miniupnpd's rules, that drops forwarded traffic
   * arriving from the WAN: miniupnpd lists its mappings and nothing passes them.
   */
  readonly routerFirewall?: boolean;
  /**
   * cgnat, doublenat: a STUN server beside the router on its WAN link (on the box in front), so
   * miniupnpd's STUN test sees no NAT and it takes its private WAN address (100.64.0.2, 192.168.1.2)
   * for a public one: it maps, and reports that address as external, as routers told to allow a
   * private WAN do (miniupnpd 2.3.1 has no ext_allow_private_ipv4 yet).
   */
  readonly privateWan?: boolean;
  /** doublenat: the router in front runs miniupnpd too (UPnP IGD, NAT-PMP, PCP) on its LAN. */
  readonly outerMapping?: boolean;
}

/** The address plan. The documentation ranges stand in for the internet; none is routed outside. */
export const PLAN = {
  lanSubnet: '192.168.77.0/24',
  lanPrefix: 24,
  routerLan: '192.168.77.1',
  lanHost: '192.168.77.10',
  lan2Host: '192.168.77.11',
  internetPrefix: 24,
  internetSubnet: '203.0.113.0/24',
  /** The home and venue router's WAN address: their public address. */
  routerWanPublic: '203.0.113.1',
  /** The carrier NAT's public address in the cgnat topology. */
  carrierPublic: '203.0.113.2',
  /** The internet host: checker, STUN primary address. */
  internetHost: '203.0.113.254',
  /** The internet host's second address, for RFC 5780 change-requests. */
  internetAlt: '203.0.113.253',
  carrierSubnet: '100.64.0.0/24',
  carrierPrefix: 24,
  carrierInside: '100.64.0.1',
  /** The router's WAN address behind the carrier NAT. */
  routerWanCgnat: '100.64.0.2',
  /** doublenat: the outer router's LAN, where the home router's WAN sits. */
  outerSubnet: '192.168.1.0/24',
  outerPrefix: 24,
  outerInside: '192.168.1.1',
  routerWanDoubleNat: '192.168.1.2',
  /** doublenat: the outer router's public address. */
  outerPublic: '203.0.113.3',
  /**
   * privateWan: the second address of the STUN server beside the router (RFC 5780 change
   * requests need two), on the box in front: 100.64.0.254 (cgnat), 192.168.1.254 (doublenat).
   */
  wanStunAltHost: 254,
  stunPort: 3478,
  stunAltPort: 3479,
  /** miniupnpd's HTTP port, fixed so the description URL is known (upnpc -u needs it). */
  igdHttpPort: 5000,
  natpmpPort: 5351,
  /** Where the venue router's captive portal listens (intercept: true). */
  portalPort: 10999,
  /** The zone dnsmasq is authoritative for: other names under it do not exist. */
  dnsZone: 'example.net',
  /**
   * IPv6 (documentation prefix 2001:db8::/32): the router routes a /64 to the LAN, with no NAT,
   * closed only by its stateful firewall, as ISPs give homes a routed prefix.
   */
  lanSubnet6: '2001:db8:77::/64',
  lanPrefix6: 64,
  routerLan6: '2001:db8:77::1',
  lanHost6: '2001:db8:77::10',
  lan2Host6: '2001:db8:77::11',
  /** The internet's IPv6 link, where home routers and the carrier plug in. */
  internetSubnet6: '2001:db8:ff::/64',
  internetPrefix6: 64,
  routerWan6: '2001:db8:ff::1',
  /** cgnat/doublenat: the provider box's IPv6 on the internet link; it routes the LAN's /64 natively. */
  carrierPublic6: '2001:db8:ff::2',
  /** cgnat/doublenat: the link between the provider box and the home router. */
  carrierSubnet6: '2001:db8:64::/64',
  carrierInside6: '2001:db8:64::1',
  routerWanCarrier6: '2001:db8:64::2',
  /** The internet host's IPv6 address (checker, peers). */
  internetHost6: '2001:db8:ff::254',
} as const;

/** The venue's default allowed outbound TCP ports: web and the seed 003 appliance's 745. */
export const DEFAULT_VENUE_EGRESS: readonly number[] = [80, 443, 745];

/** A host of the lab, by role. */
export type HostName = 'lan' | 'lan2' | 'router' | 'carrier' | 'outer' | 'internet';

/** The options with every default filled in. */
export type ResolvedLabOptions = Required<LabOptions>;

/** Fills the defaults in. */
export function resolveOptions(options: LabOptions): ResolvedLabOptions {
  return {
    topology: options.topology,
    upnp: options.upnp ?? true,
    natpmp: options.natpmp ?? true,
    inbound: options.inbound ?? 'drop',
    lowInternalPorts: options.lowInternalPorts ?? false,
    egressTcpPorts: options.egressTcpPorts ?? DEFAULT_VENUE_EGRESS,
    egressUdpPorts: options.egressUdpPorts ?? [],
    intercept: options.intercept ?? false,
    dnsRecords: options.dnsRecords ?? {},
    permissions: options.permissions ?? [],
    pcpLifetime: options.pcpLifetime ?? {},
    routerFirewall: options.routerFirewall ?? false,
    privateWan: options.privateWan ?? false,
    outerMapping: options.outerMapping ?? false,
  };
}

/**
 * The STUN server the router's miniupnpd asks: coturn on the internet (default), or beside the
 * router on its WAN link (privateWan): its two addresses.
 */
export function stunServerOf(options: ResolvedLabOptions): { readonly primary: string; readonly alt: string } {
  if (options.privateWan && options.topology === 'cgnat')
    return { primary: PLAN.carrierInside, alt: `100.64.0.${PLAN.wanStunAltHost}` };
  if (options.privateWan && options.topology === 'doublenat')
    return { primary: PLAN.outerInside, alt: `192.168.1.${PLAN.wanStunAltHost}` };
  return { primary: PLAN.internetHost, alt: PLAN.internetAlt };
}

/** The hosts a topology has. */
export function hostsOf(topology: TopologyName): HostName[] {
  if (topology === 'cgnat') return ['lan', 'lan2', 'router', 'carrier', 'internet'];
  if (topology === 'doublenat') return ['lan', 'lan2', 'router', 'outer', 'internet'];
  return ['lan', 'lan2', 'router', 'internet'];
}

/** Addresses of one lab, as tests use them. */
export interface LabAddresses {
  readonly lan: string;
  readonly lan2: string;
  readonly routerLan: string;
  /** The router's own WAN address (private in cgnat). */
  readonly routerWan: string;
  /** The address the internet sees for the LAN. */
  readonly publicIp: string;
  readonly internet: string;
  readonly internetAlt: string;
  /** The IGD description URL miniupnpd serves (for `upnpc -u`). */
  readonly igdDescriptionUrl: string;
  /** doublenat: the outer router's LAN address (where the home router's WAN points). */
  readonly outerRouter?: string;
  /** IPv6: the LAN hosts' global addresses (reachable from the internet once a pinhole is open). */
  readonly lan6: string;
  readonly lan26: string;
  /** IPv6: the router's LAN address (PCP and IGDv2 over IPv6 go here). */
  readonly routerLan6: string;
  /** IPv6: the router's WAN address. */
  readonly routerWan6: string;
  /** IPv6: the internet host. */
  readonly internet6: string;
}

/** The addresses of a topology. */
export function addressesOf(topology: TopologyName): LabAddresses {
  const cgnat = topology === 'cgnat';
  const doubleNat = topology === 'doublenat';
  return {
    lan: PLAN.lanHost,
    lan2: PLAN.lan2Host,
    routerLan: PLAN.routerLan,
    routerWan: cgnat ? PLAN.routerWanCgnat : doubleNat ? PLAN.routerWanDoubleNat : PLAN.routerWanPublic,
    publicIp: cgnat ? PLAN.carrierPublic : doubleNat ? PLAN.outerPublic : PLAN.routerWanPublic,
    ...(doubleNat ? { outerRouter: PLAN.outerInside } : {}),
    internet: PLAN.internetHost,
    internetAlt: PLAN.internetAlt,
    igdDescriptionUrl: `http://${PLAN.routerLan}:${PLAN.igdHttpPort}/rootDesc.xml`,
    lan6: PLAN.lanHost6,
    lan26: PLAN.lan2Host6,
    routerLan6: PLAN.routerLan6,
    routerWan6: cgnat || doubleNat ? PLAN.routerWanCarrier6 : PLAN.routerWan6,
    internet6: PLAN.internetHost6,
  };
}
