/**
 * Walks a packet through the model: every base chain on the hook, lowest priority first. A
 * drop or reject anywhere is final; an accept ends only its own base chain (nftables'
 * semantics, which iptables shares). Conditions the model cannot judge make the answer
 * uncertain, and the rules responsible are named.
 */
import { cidrContains, formatIp, type IpAddress } from '../net/index.js';
import type { Condition, ModelChain, ModelRule, ModelTable } from './ruleModel.js';

/** The packet in question: a new inbound (or outbound) connection attempt. */
export interface Packet {
  readonly hook: 'input' | 'output';
  readonly family: 4 | 6;
  readonly protocol: 'tcp' | 'udp';
  readonly port: number;
  /** The remote address, when the question names one; otherwise "any internet address". */
  readonly remote?: IpAddress;
  /** The interface it arrives on (input) or leaves by (output). */
  readonly interface?: string;
  /**
   * This host's side of the packet, when the question names it: a multicast group inbound
   * (`ip daddr 224.0.0.251`). Unset, rules on this host's address stay uncertain.
   */
  readonly local?: IpAddress;
}

/** Which rule (or policy) decided. */
export interface Decision {
  readonly table: string;
  readonly chain: string;
  readonly source: ModelTable['source'];
  /** The rule's text, or `policy drop` / `policy accept`. */
  readonly rule: string;
  readonly handle?: number;
  readonly policy: boolean;
}

/** The answer for one packet. */
export interface Evaluation {
  readonly verdict: 'accept' | 'drop' | 'reject';
  /** The rule that decided; for accept, the last base chain's accepting rule or policy. */
  readonly decidedBy: Decision | undefined;
  /** False when a rule the model cannot judge might have changed the outcome. */
  readonly certain: boolean;
  readonly uncertainRules: readonly string[];
  /** Each base chain's verdict, in evaluation order. */
  readonly trail: readonly string[];
}

type Judgement = true | false | 'unknown';

function judge(condition: Condition, packet: Packet): Judgement {
  const flip = (value: boolean) => ('negate' in condition && condition.negate ? !value : value);
  switch (condition.kind) {
    case 'family':
      return condition.family === packet.family;
    case 'protocol':
      return flip(condition.values.includes(packet.protocol));
    case 'dport': {
      if (condition.protocol && condition.protocol !== packet.protocol) return false;
      return flip(condition.spans.some((span) => packet.port >= span.start && packet.port <= span.end));
    }
    case 'address': {
      // Inbound the remote is the source; outbound it is the destination.
      const remoteSide = packet.hook === 'input' ? 'source' : 'destination';
      if (condition.side !== remoteSide) {
        const local = packet.local;
        if (!local) return 'unknown';
        return flip(condition.cidrs.some((cidr) => cidrContains(cidr, local)));
      }
      if (!packet.remote) return flip(false);
      const remote = packet.remote;
      return flip(condition.cidrs.some((cidr) => cidrContains(cidr, remote)));
    }
    case 'interface': {
      if (!packet.interface) return 'unknown';
      const name = packet.interface;
      const matches = condition.names.some((pattern) =>
        pattern.endsWith('*') || pattern.endsWith('+') ? name.startsWith(pattern.slice(0, -1)) : pattern === name,
      );
      return flip(matches);
    }
    case 'ctstate':
      // A connection attempt is conntrack state "new".
      return flip(condition.states.includes('new'));
    case 'unknown':
      return 'unknown';
  }
}

function judgeRule(rule: ModelRule, packet: Packet): Judgement {
  let result: Judgement = true;
  for (const condition of rule.conditions) {
    const value = judge(condition, packet);
    if (value === false) return false;
    if (value === 'unknown') result = 'unknown';
  }
  return result;
}

interface ChainOutcome {
  readonly verdict: 'accept' | 'drop' | 'reject' | 'return' | 'end';
  readonly rule?: ModelRule;
  readonly chain: string;
}

/** Jumps nest at most this deep: nftables itself refuses loops, this guards bad input. */
const MAX_DEPTH = 16;

function runChain(
  table: ModelTable,
  chain: ModelChain,
  packet: Packet,
  uncertain: string[],
  depth: number,
): ChainOutcome {
  if (depth > MAX_DEPTH) {
    uncertain.push(`${table.name} ${chain.name}: jumps nest deeper than ${MAX_DEPTH}`);
    return { verdict: 'end', chain: chain.name };
  }
  for (const rule of chain.rules) {
    const matched = judgeRule(rule, packet);
    if (matched === false) continue;
    if (matched === 'unknown') {
      // Not judged: assume it does not match, and say the answer depends on it.
      if (rule.verdict.kind !== 'continue') uncertain.push(`${table.name} ${chain.name}: ${rule.text}`);
      continue;
    }
    const verdict = rule.verdict;
    if (verdict.kind === 'continue') continue;
    if (verdict.kind === 'jump' || verdict.kind === 'goto') {
      const target = table.chains.get(verdict.target);
      if (!target) {
        uncertain.push(`${table.name} ${chain.name}: ${rule.text} (no chain ${verdict.target})`);
        continue;
      }
      const inner = runChain(table, target, packet, uncertain, depth + 1);
      if (inner.verdict === 'accept' || inner.verdict === 'drop' || inner.verdict === 'reject') return inner;
      if (verdict.kind === 'goto') return { verdict: 'end', chain: chain.name };
      continue;
    }
    return { verdict: verdict.kind, rule, chain: chain.name };
  }
  return { verdict: 'end', chain: chain.name };
}

/** Evaluates a packet against every table's base chains on its hook. */
export function evaluatePacket(tables: readonly ModelTable[], packet: Packet): Evaluation {
  const bases = tables
    .filter((table) => table.families.includes(packet.family))
    .flatMap((table) =>
      [...table.chains.values()].filter((chain) => chain.hook === packet.hook).map((chain) => ({ table, chain })),
    )
    .sort((a, b) => (a.chain.priority ?? 0) - (b.chain.priority ?? 0));
  const uncertain: string[] = [];
  const trail: string[] = [];
  let lastAccept: Decision | undefined;
  for (const { table, chain } of bases) {
    const outcome = runChain(table, chain, packet, uncertain, 0);
    const viaPolicy = outcome.verdict === 'end' || outcome.verdict === 'return';
    const verdict = viaPolicy ? (chain.policy ?? 'accept') : outcome.verdict;
    const decision: Decision = {
      table: table.name,
      chain: viaPolicy ? chain.name : outcome.chain,
      source: table.source,
      rule: viaPolicy ? `policy ${chain.policy ?? 'accept'}` : (outcome.rule?.text ?? ''),
      policy: viaPolicy,
      ...(outcome.rule?.handle !== undefined && !viaPolicy ? { handle: outcome.rule.handle } : {}),
    };
    trail.push(`${table.name} ${chain.name} (priority ${chain.priority ?? 0}): ${verdict} by ${decision.rule}`);
    if (verdict === 'drop' || verdict === 'reject') {
      return { verdict, decidedBy: decision, certain: uncertain.length === 0, uncertainRules: uncertain, trail };
    }
    lastAccept = decision;
  }
  return {
    verdict: 'accept',
    decidedBy: lastAccept,
    certain: uncertain.length === 0,
    uncertainRules: uncertain,
    trail,
  };
}

/** A packet's description for messages: `inbound tcp/7001 from 203.0.113.9 on eth0`. */
export function describePacket(packet: Packet): string {
  const from = packet.remote ? ` ${packet.hook === 'input' ? 'from' : 'to'} ${formatIp(packet.remote)}` : '';
  const via = packet.interface ? ` ${packet.hook === 'input' ? 'on' : 'via'} ${packet.interface}` : '';
  const to = packet.local ? ` ${packet.hook === 'input' ? 'to' : 'from'} ${formatIp(packet.local)}` : '';
  return `${packet.hook === 'input' ? 'inbound' : 'outbound'} ${packet.protocol}/${packet.port}${from}${to}${via}`;
}
