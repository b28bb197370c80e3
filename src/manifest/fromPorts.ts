/** A manifest made from a port spec on the command line (`porthole firewall 7001,5353/udp`). */
import { formatPortSpec, type PortRange, parsePortSpec } from '../net/index.js';
import type { Manifest, ManifestEntry } from './types.js';

/** Inbound entries, one per transport, for the ports of `spec`; `expose` marks them for mapping. */
export function manifestFromPorts(spec: string, options: { expose?: boolean } = {}): Manifest {
  const ranges = parsePortSpec(spec);
  const byTransport = new Map<string, PortRange[]>();
  for (const range of ranges) byTransport.set(range.protocol, [...(byTransport.get(range.protocol) ?? []), range]);
  const entries: ManifestEntry[] = [...byTransport].map(([protocol, ports]) => ({
    name: `ports-${protocol}`,
    direction: 'inbound',
    protocol: protocol === 'udp' ? 'udp' : 'tcp',
    transports: protocol === 'udp' ? ['udp'] : ['tcp'],
    ports,
    portText: formatPortSpec(ports).replaceAll(`/${protocol}`, ''),
    expose: options.expose ?? true,
    required: true,
    description: `Ports given on the command line (${spec})`,
    peers: [],
    group: undefined,
    line: 0,
  }));
  return { name: 'ports', description: undefined, entries, source: spec };
}
