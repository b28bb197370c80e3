/** An application's ports table as data: what the manifest file means once validated. */
import type { Cidr, PortRange, Transport } from '../net/index.js';

/** Which way the traffic flows, seen from the host running the application. */
export type Direction = 'inbound' | 'outbound' | 'multicast';

/** The protocol word of a manifest entry. */
export type ProtocolWord = 'tcp' | 'udp' | 'tcp+udp';

/** The remote side of an entry: an address range, or a DNS name resolved when rules are made. */
export type Peer =
  | { readonly kind: 'cidr'; readonly text: string; readonly cidr: Cidr }
  | { readonly kind: 'fqdn'; readonly text: string };

/** What a server announces over a multicast entry, by protocol. */
export interface Announce {
  readonly mdns?: string;
  readonly ssdp?: string;
  readonly wsd?: string;
}

/** One row of the ports table. */
export interface ManifestEntry {
  readonly name: string;
  readonly direction: Direction;
  readonly protocol: ProtocolWord;
  readonly transports: readonly Transport[];
  /** The ports, one range per transport, merged and sorted. */
  readonly ports: readonly PortRange[];
  /** The ports as the file wrote them, for tables (`20570-20575`, `80, 443`). */
  readonly portText: string;
  /** Must be reachable from the internet (a router mapping is wanted). */
  readonly expose: boolean;
  /** False for optional features (e-mail notifications, say). */
  readonly required: boolean;
  readonly description: string | undefined;
  /** Remote side: inbound sources or outbound destinations; empty means any. */
  readonly peers: readonly Peer[];
  /** The multicast group, for direction multicast. */
  readonly group: string | undefined;
  /** What the server announces on a multicast entry (DNS-SD type, SSDP target, WS-Discovery type). */
  readonly announce?: Announce;
  /** Line of the entry in its file, for comments in generated rules. */
  readonly line: number;
}

/** A validated manifest. */
export interface Manifest {
  readonly name: string;
  readonly description: string | undefined;
  readonly entries: readonly ManifestEntry[];
  /** The file it came from, or the port spec it was built from (`7001,5353/udp`). */
  readonly source: string;
}

/** One problem found in a manifest, located in its file. */
export interface ManifestIssue {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** The field, as `ports[1].direction`. */
  readonly field: string;
  readonly message: string;
}
