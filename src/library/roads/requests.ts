/** The mapping requests a manifest makes, shared by the roads that map (direct, IPv6, double NAT). */
import type { ManifestEntry } from '../../manifest/index.js';

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

/** The TCP ports a relay tunnels: the first port of every exposed inbound entry's TCP ranges. */
export function exposedTcpPorts(entries: readonly ManifestEntry[]): number[] {
  return requestsOf(entries)
    .filter((request) => request.protocol === 'tcp')
    .map((request) => request.internalPort);
}
