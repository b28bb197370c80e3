/**
 * The second road: when no direct path can work (carrier NAT, a router that refuses mapping, a
 * filter upstream, two routers), expose opens a reverse tunnel through a relay for each exposed
 * TCP port and proves each from outside, as the direct road is proven. Each tunnel is a finding
 * of its own (`relay:P/T`), so the doctor's checklist shows the relay as a hop.
 */
import type { AbortOptions } from '../deadline/index.js';
import type { RelayTunnel, RelayVerification } from '../relay/index.js';
import type { Cause, Finding } from './judge.js';

/** How expose reaches a relay. */
export interface RelaySettings {
  /** `ssh://USER[:TOKEN]@HOST[:PORT]`. */
  readonly url: string;
  /** porthole's data directory: its known_hosts pins the relay's host key. */
  readonly dataDir: string;
  /** Skip the direct road. */
  readonly only?: boolean;
  readonly proxyProtocol?: 'v1' | 'v2' | undefined;
  readonly identityFile?: string | undefined;
}

/** The causes after which a direct road cannot work, whatever is set here: the relay is the way. */
export const DIRECT_ROAD_CLOSED: ReadonlySet<Cause> = new Set<Cause>([
  'cgnat',
  'router-refuses-mapping',
  'upstream-filter',
  'double-nat',
  'refused-on-path',
]);

/** One tunnel and what proved it. */
export interface RelayRoad {
  readonly port: number;
  readonly protocol: 'tcp';
  readonly publicAddress: string;
  readonly verification: RelayVerification;
  readonly tunnel: RelayTunnel;
}

/** Opens and proves a tunnel per port; on any failure the tunnels opened so far are closed. */
export async function openRelayRoads(
  ports: readonly number[],
  settings: RelaySettings,
  options: AbortOptions = {},
): Promise<RelayRoad[]> {
  const { openRelay, verifyRelay } = await import('../relay/index.js');
  const roads: RelayRoad[] = [];
  try {
    for (const port of ports) {
      const tunnel = await openRelay({
        url: settings.url,
        localPort: port,
        dataDir: settings.dataDir,
        ...(settings.proxyProtocol ? { proxyProtocol: settings.proxyProtocol } : {}),
        ...(settings.identityFile ? { identityFile: settings.identityFile } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
      try {
        const verification = await verifyRelay(tunnel.publicAddress, {
          localPort: port,
          tunnel,
          ...(options.signal ? { signal: options.signal } : {}),
        });
        roads.push({ port, protocol: 'tcp', publicAddress: tunnel.publicAddress, verification, tunnel });
      } catch (error) {
        await tunnel.dispose();
        throw error;
      }
    }
    return roads;
  } catch (error) {
    await closeRelayRoads(roads);
    throw error;
  }
}

/** Closes every tunnel (each cancels its forward on the relay). */
export async function closeRelayRoads(roads: readonly RelayRoad[]): Promise<void> {
  await Promise.all(roads.map((road) => road.tunnel.dispose()));
}

/** The relay hop as the doctor's findings: ok only when the public port is proven to reach this host. */
export function relayFindings(roads: readonly RelayRoad[]): Finding[] {
  return roads.map((road) => {
    const { verification } = road;
    const proven = verification.state === 'open' && verification.verified === true;
    return {
      id: `relay:${road.port}/${road.protocol}`,
      status: proven ? 'ok' : verification.state === 'open' ? 'warn' : 'fail',
      summary: proven
        ? `reachable via the relay at ${road.publicAddress}, proven to reach this host (${verification.method})`
        : verification.state === 'open'
          ? `the relay's port ${road.publicAddress} is open, but not proven to reach this computer`
          : `the relay's port ${road.publicAddress} is ${verification.state} from outside`,
      evidence: [
        verification.evidence,
        `checked from ${verification.from === 'here' ? 'this network' : 'the relay itself'}`,
      ],
      fix: proven
        ? null
        : 'The relay does not forward its public port to this tunnel: check the relay allows remote forwarding on public addresses (OpenSSH: GatewayPorts clientspecified).',
      cause: null,
      ms: 0,
    };
  });
}
