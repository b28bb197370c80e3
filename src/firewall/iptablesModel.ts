/**
 * iptables-save output translated into the rule model: used for tables managed by
 * iptables-nft (whose extensions nft's JSON leaves opaque) and for iptables-legacy.
 */
import { parseCidr } from '../net/index.js';
import type { Condition, ModelChain, ModelRule, ModelTable, Verdict } from './ruleModel.js';
import type { PortSpan } from './types.js';

/** Priority of the iptables filter table's hooks (NF_IP_PRI_FILTER), as nft reports it. */
const FILTER_PRIORITY = 0;
const BUILTIN_HOOKS: Record<string, string> = { INPUT: 'input', OUTPUT: 'output', FORWARD: 'forward' };

/** Splits an iptables-save rule into words, keeping quoted comments whole. */
function words(line: string): string[] {
  return [...line.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)].map((match) => match[1] ?? match[2] ?? '');
}

function spans(list: string): PortSpan[] {
  return list.split(',').map((item) => {
    const [start, end] = item.split(':').map(Number);
    return { start: start ?? 0, end: end ?? start ?? 0 };
  });
}

function translateRule(line: string): { chain: string; rule: ModelRule } {
  const parts = words(line);
  const chain = parts[1] ?? '';
  const conditions: Condition[] = [];
  let verdict: Verdict = { kind: 'continue' };
  let protocol: 'tcp' | 'udp' | undefined;
  let negate = false;
  for (let i = 2; i < parts.length; i++) {
    const word = parts[i] ?? '';
    const next = parts[i + 1] ?? '';
    if (word === '!') {
      negate = true;
      continue;
    }
    switch (word) {
      case '-p':
        protocol = next === 'tcp' || next === 'udp' ? next : undefined;
        conditions.push({ kind: 'protocol', values: [next], negate });
        i++;
        break;
      case '--dport':
      case '--dports':
        conditions.push({ kind: 'dport', protocol, spans: spans(next), negate });
        i++;
        break;
      case '-s':
      case '-d':
        conditions.push({
          kind: 'address',
          side: word === '-s' ? 'source' : 'destination',
          cidrs: next.split(',').map(parseCidr),
          negate,
        });
        i++;
        break;
      case '-i':
      case '-o':
        conditions.push({ kind: 'interface', names: [next], negate });
        i++;
        break;
      case '--ctstate':
      case '--state':
        conditions.push({ kind: 'ctstate', states: next.toLowerCase().split(','), negate });
        i++;
        break;
      case '-m':
        // Match modules whose options are read above (tcp, udp, multiport, conntrack, state, comment).
        if (!['tcp', 'udp', 'multiport', 'conntrack', 'state', 'comment'].includes(next)) {
          conditions.push({ kind: 'unknown', what: `-m ${next}` });
        }
        i++;
        break;
      case '--comment':
      case '--reject-with':
        i++;
        break;
      case '-j':
      case '-g': {
        const target = next;
        if (target === 'ACCEPT') verdict = { kind: 'accept' };
        else if (target === 'DROP') verdict = { kind: 'drop' };
        else if (target === 'REJECT') verdict = { kind: 'reject' };
        else if (target === 'RETURN') verdict = { kind: 'return' };
        else if (['LOG', 'NFLOG', 'MARK', 'CONNMARK'].includes(target)) verdict = { kind: 'continue' };
        else verdict = { kind: word === '-g' ? 'goto' : 'jump', target };
        i++;
        break;
      }
      default:
        if (word.startsWith('-')) conditions.push({ kind: 'unknown', what: word });
    }
    negate = false;
  }
  return { chain, rule: { conditions, verdict, text: line } };
}

/** Translates `iptables-save -t filter` (or ip6tables-save) output. */
export function modelFromIptablesSave(
  text: string,
  family: 4 | 6,
  source: ModelTable['source'],
): ModelTable | undefined {
  const chains = new Map<string, { policy?: 'accept' | 'drop'; rules: ModelRule[] }>();
  let inFilter = false;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('*')) inFilter = line === '*filter';
    if (!inFilter) continue;
    const declared = /^:(\S+) (\S+)/.exec(line);
    if (declared) {
      const policy = declared[2] === 'DROP' ? 'drop' : declared[2] === 'ACCEPT' ? 'accept' : undefined;
      chains.set(declared[1] ?? '', { ...(policy ? { policy } : {}), rules: [] });
    } else if (line.startsWith('-A ')) {
      const { chain, rule } = translateRule(line);
      chains.get(chain)?.rules.push(rule);
    }
  }
  if (chains.size === 0) return undefined;
  return {
    name: `${family === 4 ? 'ip' : 'ip6'} filter (${source})`,
    families: [family],
    source,
    chains: new Map(
      [...chains].map(([name, chain]): [string, ModelChain] => [
        name,
        {
          name,
          rules: chain.rules,
          ...(BUILTIN_HOOKS[name] ? { hook: BUILTIN_HOOKS[name], priority: FILTER_PRIORITY } : {}),
          ...(chain.policy ? { policy: chain.policy } : {}),
        },
      ]),
    ),
  };
}
