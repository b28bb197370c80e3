/** The contracts of src/firewall: a plan of rules derived from a manifest, and the backends that render it. */
import type { Transport } from '../net/index.js';

/** The firewalls porthole writes rules for. */
export type FirewallTarget = 'nftables' | 'iptables' | 'ufw' | 'firewalld' | 'windows' | 'pf';

/** Every target, in the order `--help` lists them. */
export const FIREWALL_TARGETS: readonly FirewallTarget[] = [
  'nftables',
  'iptables',
  'ufw',
  'firewalld',
  'windows',
  'pf',
];

/** A remote address or range, with the DNS name it came from when it was resolved. */
export interface RemoteAddress {
  readonly family: 4 | 6;
  /** Canonical `address` or `address/prefix`. */
  readonly cidr: string;
  /** The manifest's DNS name this address was resolved from, if any. */
  readonly resolvedFrom?: string;
}

/** An inclusive port span. */
export interface PortSpan {
  readonly start: number;
  readonly end: number;
}

/** One rule to allow traffic, for one transport and one direction. */
export interface PlannedRule {
  /** `manifest/entry`: every backend writes it into the rule (comment, label or group). */
  readonly id: string;
  readonly entry: string;
  readonly description: string | undefined;
  /** The entry's line in its manifest (0 when built from a port spec). */
  readonly line: number;
  readonly direction: 'in' | 'out';
  readonly protocol: Transport;
  readonly ports: readonly PortSpan[];
  /** Inbound: allowed sources; outbound: allowed destinations; empty means any. */
  readonly remotes: readonly RemoteAddress[];
  /** A multicast group: the local destination inbound, the remote destination outbound. */
  readonly group: string | undefined;
  /** Address families the rule applies to. */
  readonly families: readonly (4 | 6)[];
}

/** All rules for one manifest, and what the user should know about them. */
export interface RulePlan {
  readonly manifest: string;
  readonly source: string;
  readonly rules: readonly PlannedRule[];
  /** Things said in the output's header: names resolved, names that did not resolve. */
  readonly notes: readonly string[];
}

/** One file of generated rules. */
export interface RenderedFile {
  readonly name: string;
  readonly content: string;
}

/** A firewall backend: renders a plan as that firewall's own files. Pure. */
export interface FirewallBackend {
  readonly target: FirewallTarget;
  render(plan: RulePlan): RenderedFile[];
}
