/** The mapping requests a manifest makes, shared by the roads that map (direct, IPv6, double NAT). */
import { PortholeError } from '../../errors/index.js';
import type { ManifestEntry } from '../../manifest/index.js';

/**
 * The most mappings one run asks a router for. Home routers hold few, for every device on the
 * LAN together (tables of 32 to 128 entries are common), and each mapping is a request the router
 * serves while it serves everyone else: a table of 10,000 ports made `expose` run into its
 * deadline with ~200 PCP mappings made and the router deaf. A table beyond this is refused before
 * anything is asked.
 */
export const MAX_ROUTER_MAPPINGS = 32;

/** One mapping request per exposed entry and transport; a range asks for its first free port. */
export function requestsOf(entries: readonly ManifestEntry[]) {
  return entries
    .filter((entry) => entry.direction === 'inbound' && entry.expose)
    .flatMap((entry) =>
      entry.ports.map((range) => ({
        protocol: range.protocol,
        internalPort: range.start,
        ...(range.end > range.start ? { external: { start: range.start, end: range.end } } : {}),
        description: `porthole ${entry.name}`,
      })),
    );
}

/**
 * Throws E_MAPPING_TABLE_LIMIT when the manifest asks more mappings than a router holds, naming
 * the entries that ask most; decided before the router is asked anything.
 */
export function assertRouterCanHold(entries: readonly ManifestEntry[], limit = MAX_ROUTER_MAPPINGS): void {
  const exposed = entries.filter((entry) => entry.direction === 'inbound' && entry.expose);
  const count = exposed.reduce((sum, entry) => sum + entry.ports.length, 0);
  if (count <= limit) return;
  const largest = [...exposed]
    .sort((a, b) => b.ports.length - a.ports.length)
    .slice(0, 3)
    .map((entry) => `${entry.name}: ${entry.ports.length}`);
  throw new PortholeError('E_MAPPING_TABLE_LIMIT', {
    detail: `${count} router mappings asked (one per separate port or range of each exposed entry; most in ${largest.join(', ')}), a home router holds about ${limit} for all its devices together`,
    data: { asked: count, limit },
  });
}

/** The TCP ports a relay tunnels: the first port of every exposed inbound entry's TCP ranges. */
export function exposedTcpPorts(entries: readonly ManifestEntry[]): number[] {
  return requestsOf(entries)
    .filter((request) => request.protocol === 'tcp')
    .map((request) => request.internalPort);
}
