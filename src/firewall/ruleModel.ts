/**
 * A small model of a packet filter, enough to answer "would this host accept inbound
 * tcp/7001?": chains of rules made of conditions and a verdict. nftables' JSON and
 * iptables-save are both translated into it (inspectNftables.ts, inspectIptables.ts), and
 * one evaluator walks it (evaluate.ts).
 */
import type { Cidr } from '../net/index.js';
import type { PortSpan } from './types.js';

/** One test a rule makes on a packet. `negate` inverts it (`!=`, `!`). */
export type Condition =
  | { readonly kind: 'protocol'; readonly values: readonly string[]; readonly negate: boolean }
  /** A destination-port test; `protocol` is set when the test itself implies one (`tcp dport`). */
  | {
      readonly kind: 'dport';
      readonly protocol: 'tcp' | 'udp' | undefined;
      readonly spans: readonly PortSpan[];
      readonly negate: boolean;
    }
  | {
      readonly kind: 'address';
      readonly side: 'source' | 'destination';
      readonly cidrs: readonly Cidr[];
      readonly negate: boolean;
    }
  | { readonly kind: 'interface'; readonly names: readonly string[]; readonly negate: boolean }
  | { readonly kind: 'ctstate'; readonly states: readonly string[]; readonly negate: boolean }
  | { readonly kind: 'family'; readonly family: 4 | 6 }
  /** Something the model does not understand; the rule's outcome becomes uncertain. */
  | { readonly kind: 'unknown'; readonly what: string };

/** What a rule does when all its conditions hold. `continue` is a rule with no verdict (a counter). */
export type Verdict =
  | { readonly kind: 'accept' | 'drop' | 'reject' | 'return' | 'continue' }
  | { readonly kind: 'jump' | 'goto'; readonly target: string };

/** One rule. */
export interface ModelRule {
  readonly conditions: readonly Condition[];
  readonly verdict: Verdict;
  /** The rule as its firewall prints it, for evidence. */
  readonly text: string;
  readonly handle?: number;
}

/** One chain; a base chain has a hook, a priority and a policy. */
export interface ModelChain {
  readonly name: string;
  readonly rules: readonly ModelRule[];
  readonly hook?: 'input' | 'output' | 'forward' | string;
  readonly priority?: number;
  readonly policy?: 'accept' | 'drop';
}

/** A table: its chains, with where the table came from. */
export interface ModelTable {
  /** `inet filter`, `ip filter`. */
  readonly name: string;
  /** Address families its rules see: inet both, ip only IPv4, ip6 only IPv6. */
  readonly families: readonly (4 | 6)[];
  readonly source: 'nftables' | 'iptables-nft' | 'iptables-legacy';
  readonly chains: ReadonlyMap<string, ModelChain>;
}
