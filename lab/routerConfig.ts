/**
 * Pure renderers for what runs on the lab's routers: nftables rulesets and miniupnpd's
 * config. Interface names are the ones lab.ts creates inside each namespace.
 */
import { PLAN, type ResolvedLabOptions, stunServerOf } from './topology.js';

/** Interface names inside the namespaces (namespaces isolate them, so they can be fixed). */
export const IFACE = {
  /** The LAN bridge on the router. */
  lanBridge: 'br0',
  /** Every router's uplink. */
  wan: 'wan0',
  /** The carrier NAT's subscriber side. */
  carrierInside: 'sub0',
  /** The internet namespace's bridge, which routers and internet hosts plug into. */
  internetBridge: 'br0',
  /** A LAN host's only interface. */
  host: 'eth0',
} as const;

/** nftables table porthole's lab owns on each router; miniupnpd's chains live in it. */
export const LAB_TABLE = 'porthole_lab';

/** Chains named in miniupnpd's config (PRODUCT.md: its nftables backend uses our names). */
export const MINIUPNPD_CHAINS = {
  forward: 'miniupnpd',
  prerouting: 'prerouting_miniupnpd',
  postrouting: 'postrouting_miniupnpd',
} as const;

/** The rules that end unsolicited inbound traffic arriving on the WAN, one per line. */
function inboundRules(options: ResolvedLabOptions): string {
  const wan = `iifname "${IFACE.wan}"`;
  // TCP gets a reset and everything else an ICMP port-unreachable, as a router that refuses does.
  return options.inbound === 'reject'
    ? `${wan} meta l4proto tcp reject with tcp reset
    ${wan} reject with icmpx port-unreachable`
    : `${wan} drop`;
}

/**
 * NAT-PMP/PCP switched off must mean off on IPv6 too: miniupnpd 2.3.1 keeps answering PCP over
 * IPv6 with enable_natpmp=no (seen in the lab), so the router drops it, as a router whose PCP is
 * disabled does. One indented line, or nothing.
 */
function pcpOff(options: ResolvedLabOptions): string {
  return options.natpmp
    ? ''
    : `    iifname "${IFACE.lanBridge}" meta nfproto ipv6 udp dport ${PLAN.natpmpPort} drop
`;
}

/** Where a router's ruleset sits: its LAN interface, its STUN server's addresses, whether it routes IPv6 natively. */
export interface RouterPlace {
  readonly lan: string;
  readonly stun: { readonly primary: string; readonly alt: string };
  /** The provider's box in front of a home router: IPv6 routed to the home without filtering. */
  readonly routeIpv6?: boolean;
}

/** The router in front of the home router in doublenat, when it runs miniupnpd (outerMapping). */
export const OUTER_PLACE: RouterPlace = {
  lan: IFACE.carrierInside,
  stun: { primary: PLAN.internetHost, alt: PLAN.internetAlt },
  routeIpv6: true,
};

/**
 * A second firewall on the router (routerFirewall), hooked in front of the lab's own forward chain:
 * forwarded connections from the WAN are dropped before miniupnpd's rules are reached, as a
 * router's "SPI firewall" or a security filter does to what its UPnP daemon maps.
 */
export const ROUTER_FIREWALL_TABLE = 'router_firewall';

/** The router's second firewall (routerFirewall), as a ruleset of its own table. */
export function routerFirewallRuleset(): string {
  return `table inet ${ROUTER_FIREWALL_TABLE} {
  chain forward {
    type filter hook forward priority -10; policy accept;
    iifname "${IFACE.wan}" ct state new drop
  }
}
`;
}

/** The home/venue/cgnat router's ruleset: NAT, miniupnpd's chains, inbound and (venue) egress policy. */
export function routerRuleset(
  options: ResolvedLabOptions,
  place: RouterPlace = { lan: IFACE.lanBridge, stun: stunServerOf(options) },
): string {
  const lan = place.lan;
  const wan = IFACE.wan;
  const inbound = inboundRules(options);
  const egress =
    options.topology === 'venue'
      ? [
          // DNS to the venue's resolver only, as venues that force their own resolver do.
          `iifname "${lan}" ip daddr ${PLAN.internetHost} meta l4proto { tcp, udp } th dport 53 accept`,
          ...(options.egressTcpPorts.length > 0
            ? [`iifname "${lan}" tcp dport { ${options.egressTcpPorts.join(', ')} } accept`]
            : []),
          ...(options.egressUdpPorts.length > 0
            ? [`iifname "${lan}" udp dport { ${options.egressUdpPorts.join(', ')} } accept`]
            : []),
          `iifname "${lan}" drop`,
        ]
      : [`iifname "${lan}" accept`];
  // A captive portal: what the venue does not let out, the router answers itself.
  const intercept =
    options.topology === 'venue' && options.intercept
      ? `\n    iifname "${lan}" fib daddr type != local tcp dport != { 53${options.egressTcpPorts.map((port) => `, ${port}`).join('')} } redirect to :${PLAN.portalPort}`
      : '';
  return `table inet ${LAB_TABLE} {
  chain input {
    type filter hook input priority 0; policy accept;
    ct state established,related accept
    iifname "${wan}" meta l4proto icmp accept
    # IPv6 needs ICMPv6 on the link (neighbour discovery), as RFC 4890 says a firewall must allow.
    iifname "${wan}" meta l4proto ipv6-icmp accept
    # miniupnpd's start-up STUN test: coturn answers from its other address and port.
    iifname "${wan}" ip saddr { ${place.stun.primary}, ${place.stun.alt} } udp sport { ${PLAN.stunPort}, ${PLAN.stunAltPort} } accept
${place.lan === IFACE.lanBridge ? pcpOff(options) : ''}    ${inbound}
  }
  chain forward {
    type filter hook forward priority 0; policy drop;
    ct state established,related accept
    ${egress.join('\n    ')}${place.routeIpv6 ? '\n    meta nfproto ipv6 accept' : ''}
    jump ${MINIUPNPD_CHAINS.forward}
    ${inbound}
  }
  chain ${MINIUPNPD_CHAINS.forward} {
  }
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;${intercept}
    jump ${MINIUPNPD_CHAINS.prerouting}
  }
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    jump ${MINIUPNPD_CHAINS.postrouting}
    # IPv4 only: the LAN's IPv6 /64 is routed, not translated (an inet table would NAT66 it too).
    oifname "${wan}" meta nfproto ipv4 masquerade
  }
  chain ${MINIUPNPD_CHAINS.prerouting} {
  }
  chain ${MINIUPNPD_CHAINS.postrouting} {
  }
}
${place.lan === IFACE.lanBridge && options.routerFirewall ? routerFirewallRuleset() : ''}`;
}

/**
 * The carrier NAT: masquerades subscribers behind one public address and, like a carrier,
 * lets nothing unsolicited in (Linux conntrack: endpoint-independent mapping,
 * address-and-port-dependent filtering).
 */
export function carrierRuleset(): string {
  return `table inet ${LAB_TABLE} {
  chain input {
    type filter hook input priority 0; policy accept;
    ct state established,related accept
    iifname "${IFACE.wan}" meta l4proto icmp accept
    iifname "${IFACE.wan}" meta l4proto ipv6-icmp accept
    iifname "${IFACE.wan}" drop
  }
  chain forward {
    type filter hook forward priority 0; policy drop;
    ct state established,related accept
    iifname "${IFACE.carrierInside}" accept
    ct status dnat accept
    # Native IPv6: the provider routes the home's /64 without NAT or filtering (the common real
    # case behind carrier NAT); the home router's own firewall decides.
    meta nfproto ipv6 accept
  }
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
  }
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "${IFACE.wan}" meta nfproto ipv4 masquerade
  }
}
`;
}

/**
 * miniupnpd's config. The WAN address is in a documentation range, which miniupnpd counts as
 * reserved, so it learns the public address by STUN against the lab's coturn; behind a full
 * cone (home, venue) it then enables forwarding, behind the carrier NAT it does not.
 */
export function miniupnpdConfig(
  options: ResolvedLabOptions,
  uuid: string,
  place: RouterPlace = { lan: IFACE.lanBridge, stun: stunServerOf(options) },
): string {
  const home = place.lan === IFACE.lanBridge;
  const subnet = home ? PLAN.lanSubnet : PLAN.outerSubnet;
  const permissions =
    home && options.permissions.length > 0
      ? options.permissions
      : [`allow 1024-65535 ${subnet} ${home && options.lowInternalPorts ? '1-65535' : '1024-65535'}`];
  return [
    `ext_ifname=${IFACE.wan}`,
    // IPv6: pinholes (IGDv2 WANIPv6FirewallControl, PCP over IPv6) on the WAN; miniupnpd 2.3.1 puts
    // them in the same inet table and forward chain as the IPv4 rules (upnp_forward_chain).
    ...(home ? [`ext_ifname6=${IFACE.wan}`] : ['ipv6_disable=yes']),
    `listening_ip=${place.lan}`,
    `http_port=${PLAN.igdHttpPort}`,
    `enable_upnp=${!home || options.upnp ? 'yes' : 'no'}`,
    `enable_natpmp=${!home || options.natpmp ? 'yes' : 'no'}`,
    'secure_mode=yes',
    'system_uptime=no',
    'notify_interval=30',
    `uuid=${uuid}`,
    'ext_perform_stun=yes',
    `ext_stun_host=${place.stun.primary}`,
    `ext_stun_port=${PLAN.stunPort}`,
    `upnp_table_name=${LAB_TABLE}`,
    `upnp_nat_table_name=${LAB_TABLE}`,
    `upnp_forward_chain=${MINIUPNPD_CHAINS.forward}`,
    `upnp_nat_chain=${MINIUPNPD_CHAINS.prerouting}`,
    `upnp_nat_postrouting_chain=${MINIUPNPD_CHAINS.postrouting}`,
    ...(home && options.pcpLifetime.min !== undefined ? [`min_lifetime=${options.pcpLifetime.min}`] : []),
    ...(home && options.pcpLifetime.max !== undefined ? [`max_lifetime=${options.pcpLifetime.max}`] : []),
    // Unprivileged external ports from the LAN only (miniupnpd's default, which also refuses
    // internal ports below 1024 unless lowInternalPorts: many consumer routers only guard the
    // external side), or the rules a test gives. PRODUCT.md: a denied port can make miniupnpd spin.
    ...permissions,
    'deny 0-65535 0.0.0.0/0 0-65535',
    '',
  ].join('\n');
}
