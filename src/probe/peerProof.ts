/**
 * Identity without a proof listener: when a real server holds the port, the checker's connection
 * carries no proof, so "open" alone does not say which machine answered (a forward may point at
 * another device that runs the same server). The checker reports its end of each open connection
 * (`source`) and holds the connection until its answer is out; this host then looks for exactly
 * that peer among its own sockets on the port. Seen: the port reaches this machine. Not seen: not
 * proven, and the evidence says so. The sockets come from the host (src/host: /proc/net on Linux,
 * Get-NetTCPConnection on Windows, lsof on macOS); where it cannot show them, identity stays unproven.
 */
import { formatIp, parseIp, unmapIpv4 } from '../net/index.js';
import type { ProbeResult } from './types.js';

/** A TCP connection among this host's sockets, as the host reports it. */
export interface SocketPeer {
  readonly localPort: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
}

/** Reads this host's TCP connections on some local ports (undefined: this system does not show them). */
export type ReadConnections = (localPorts: readonly number[]) => Promise<readonly SocketPeer[] | undefined>;

/** What the peer check concluded for one result. */
export type PeerIdentity =
  /** The checker's connection is among this host's sockets on the port. */
  | { readonly seen: true; readonly evidence: string }
  /** This host's sockets were read and the connection is not among them. */
  | { readonly seen: false; readonly evidence: string }
  /** Nothing to check (not open, no source, already proven) or the sockets cannot be read here. */
  | { readonly seen: null; readonly evidence: string };

/**
 * An address as one comparable text: IPv4-mapped IPv6 as its IPv4, in either spelling. A dual-stack
 * server (Node's `listen(port)`, nginx `[::]:80 ipv6only=off`) accepts IPv4 connections on an IPv6
 * socket, so /proc/net/tcp6 lists the checker as `::ffff:cb00:71fe` (hex, as decodeProcAddress writes
 * it); only the dotted form was unmapped before, and such a server was never proven (found by the soak).
 */
function canonical(address: string): string {
  try {
    const parsed = parseIp(address);
    return formatIp(unmapIpv4(parsed) ?? parsed);
  } catch {
    return address;
  }
}

/** Whether a connection of this host is the prober's connection to `localPort`. Pure. */
export function isPeerRow(row: SocketPeer, localPort: number, source: { address: string; port: number }): boolean {
  return (
    row.localPort === localPort &&
    row.remotePort === source.port &&
    canonical(row.remoteAddress) === canonical(source.address)
  );
}

/** Judges one result against this host's sockets (undefined: unreadable). Pure. */
export function judgePeer(
  result: ProbeResult,
  localPort: number,
  rows: readonly SocketPeer[] | undefined,
): PeerIdentity {
  if (result.protocol !== 'tcp' || result.state !== 'open') return { seen: null, evidence: 'not an open TCP port' };
  if (result.verified === true) return { seen: null, evidence: 'already proven by porthole’s listener' };
  const { source } = result;
  if (!source) return { seen: null, evidence: 'the checker did not report its end of the connection' };
  const from = `${source.address}:${source.port}`;
  if (rows === undefined)
    return { seen: null, evidence: `this system does not show its sockets, so ${from} could not be looked for` };
  return rows.some((row) => isPeerRow(row, localPort, source))
    ? { seen: true, evidence: `the checker's connection from ${from} arrived at this host on port ${localPort}` }
    : {
        seen: false,
        evidence: `the checker's connection from ${from} is not among this host's sockets on port ${localPort}: it reached another device, or the router rewrote its source`,
      };
}

/**
 * Looks for the checker's connections among this host's sockets, right after its answer came
 * (it holds them until then). `localPortOf` gives the port the server listens on here for a
 * result's (external) port. Results seen here become verified by connection.
 */
export async function provePeers(
  results: readonly ProbeResult[],
  connections: ReadConnections,
  localPortOf: (result: ProbeResult) => number = (result) => result.port,
): Promise<{ results: ProbeResult[]; identities: PeerIdentity[] }> {
  const wanted = results.filter((r) => r.protocol === 'tcp' && r.state === 'open' && r.verified !== true && r.source);
  const rows = wanted.length > 0 ? await connections([...new Set(wanted.map(localPortOf))]) : undefined;
  const identities = results.map((result) => judgePeer(result, localPortOf(result), rows));
  return {
    identities,
    results: results.map((result, index) =>
      identities[index]?.seen === true ? { ...result, verified: true, verifiedBy: 'connection' as const } : result,
    ),
  };
}
