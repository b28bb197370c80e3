/**
 * Which interfaces discovery sends on, and from which address: one socket per interface and
 * family. Under tests PORTHOLE_ONLY_GATEWAYS (the lab's LAN CIDRs) limits discovery to the
 * interfaces that carry an address inside them, so a test run can never multicast on the
 * machine's own network.
 */
import { PortholeError } from '../errors/index.js';
import type { NetworkInterface } from '../net/index.js';
import { cidrContains, parseCidrList, parseIp } from '../net/index.js';

/** One socket to open: an interface, a family, and the local address to bind. */
export interface SocketPlan {
  readonly interface: string;
  readonly family: 4 | 6;
  /** IPv4: the interface's address; IPv6: its link-local address with `%interface`. */
  readonly bindAddress: string;
}

function allowedByEnv(iface: NetworkInterface, only: string | undefined): boolean {
  if (!only) return true;
  const cidrs = parseCidrList(only);
  if (iface.internal) return true; // Loopback never leaves the host (unit tests use it).
  return iface.addresses.some((a) => a.family === 4 && cidrs.some((cidr) => cidrContains(cidr, parseIp(a.address))));
}

/**
 * The sockets for the interfaces named (all non-loopback ones when none are), pure. An
 * interface named but absent is a usage error; one outside PORTHOLE_ONLY_GATEWAYS is E_PERMISSION.
 */
export function planSockets(
  available: readonly NetworkInterface[],
  options: { readonly names?: readonly string[]; readonly families?: readonly (4 | 6)[]; readonly only?: string },
): SocketPlan[] {
  const names = options.names ?? [];
  for (const name of names) {
    if (!available.some((iface) => iface.name === name)) {
      throw new PortholeError('E_DISCOVERY_INTERFACE', {
        detail: `no interface "${name}" here (have: ${available.map((i) => i.name).join(', ') || 'none'})`,
      });
    }
  }
  const chosen = available.filter((iface) => (names.length > 0 ? names.includes(iface.name) : !iface.internal));
  const families = options.families ?? [4, 6];
  const plans: SocketPlan[] = [];
  for (const iface of chosen) {
    if (!allowedByEnv(iface, options.only)) {
      if (names.length === 0) continue;
      throw new PortholeError('E_PERMISSION', {
        detail: `interface ${iface.name} is outside PORTHOLE_ONLY_GATEWAYS (${options.only}); this run may only use the lab`,
      });
    }
    const v4 = iface.addresses.find((a) => a.family === 4);
    if (v4 && families.includes(4)) plans.push({ interface: iface.name, family: 4, bindAddress: v4.address });
    // IPv6 multicast goes out with the link-local address as its source (RFC 6762 uses it too).
    const v6 = iface.addresses.find((a) => a.family === 6 && a.class === 'link-local');
    if (v6 && families.includes(6) && !iface.internal)
      plans.push({ interface: iface.name, family: 6, bindAddress: `${v6.address.split('%')[0]}%${iface.name}` });
  }
  return plans;
}
