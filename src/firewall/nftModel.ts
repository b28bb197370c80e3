/**
 * nftables' JSON (`nft -j list ruleset`) translated into the rule model. Expressions the model
 * does not know become `unknown` conditions, which make an answer uncertain rather than wrong.
 * Rule texts come from `nft -a list ruleset`, matched by handle.
 */
import { parseCidr } from '../net/index.js';
import type { Condition, ModelChain, ModelRule, ModelTable, Verdict } from './ruleModel.js';
import type { PortSpan } from './types.js';

type Json = unknown;
type JsonObject = Record<string, Json>;

function isObject(value: Json): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The values of a match's right side: a scalar, a set, a range or a prefix. */
function rightValues(right: Json): Json[] {
  if (isObject(right) && Array.isArray(right.set)) return right.set;
  if (Array.isArray(right)) return right;
  return [right];
}

function spansOf(right: Json): PortSpan[] | undefined {
  const spans: PortSpan[] = [];
  for (const value of rightValues(right)) {
    if (typeof value === 'number') spans.push({ start: value, end: value });
    else if (
      isObject(value) &&
      Array.isArray(value.range) &&
      typeof value.range[0] === 'number' &&
      typeof value.range[1] === 'number'
    ) {
      spans.push({ start: value.range[0], end: value.range[1] });
    } else return undefined;
  }
  return spans;
}

function cidrsOf(right: Json) {
  const cidrs = [];
  for (const value of rightValues(right)) {
    if (typeof value === 'string') cidrs.push(parseCidr(value));
    else if (isObject(value) && isObject(value.prefix))
      cidrs.push(parseCidr(`${String(value.prefix.addr)}/${String(value.prefix.len)}`));
    else return undefined;
  }
  return cidrs;
}

function stringsOf(right: Json): string[] | undefined {
  const values = rightValues(right);
  return values.every((value) => typeof value === 'string') ? (values as string[]) : undefined;
}

/** Translates one `match` expression. */
function matchCondition(match: JsonObject): Condition {
  const op = String(match.op ?? '==');
  const negate = op === '!=';
  const unknown: Condition = { kind: 'unknown', what: JSON.stringify(match) };
  if (op !== '==' && op !== '!=' && op !== 'in') return unknown;
  const left = match.left;
  const right = match.right;
  if (!isObject(left)) return unknown;

  if (isObject(left.payload)) {
    const { protocol, field } = left.payload;
    if (field === 'dport' && (protocol === 'tcp' || protocol === 'udp' || protocol === 'th')) {
      const spans = spansOf(right);
      return spans ? { kind: 'dport', protocol: protocol === 'th' ? undefined : protocol, spans, negate } : unknown;
    }
    if ((protocol === 'ip' || protocol === 'ip6') && (field === 'saddr' || field === 'daddr')) {
      try {
        const cidrs = cidrsOf(right);
        if (cidrs) return { kind: 'address', side: field === 'saddr' ? 'source' : 'destination', cidrs, negate };
      } catch {
        return unknown;
      }
    }
    if ((protocol === 'ip' && field === 'protocol') || (protocol === 'ip6' && field === 'nexthdr')) {
      const values = stringsOf(right);
      return values ? { kind: 'protocol', values, negate } : unknown;
    }
    return unknown;
  }
  if (isObject(left.meta)) {
    const key = left.meta.key;
    if (key === 'l4proto') {
      const values = stringsOf(right);
      return values ? { kind: 'protocol', values, negate } : unknown;
    }
    if (key === 'iifname' || key === 'iif' || key === 'oifname' || key === 'oif') {
      const names = stringsOf(right);
      return names ? { kind: 'interface', names, negate } : unknown;
    }
    if (key === 'nfproto') {
      const values = stringsOf(right);
      if (values?.length === 1 && !negate) return { kind: 'family', family: values[0] === 'ipv6' ? 6 : 4 };
    }
    return unknown;
  }
  if (isObject(left.ct) && left.ct.key === 'state') {
    const states = stringsOf(right);
    return states ? { kind: 'ctstate', states, negate } : unknown;
  }
  return unknown;
}

/** Statements that only observe or mark: they never change where a packet goes. */
const PASSIVE = new Set(['counter', 'log', 'limit', 'meta', 'mangle', 'notrack', 'ct']);

function translateRule(expressions: Json[], text: string, handle: number | undefined): ModelRule {
  const conditions: Condition[] = [];
  let verdict: Verdict = { kind: 'continue' };
  for (const expression of expressions) {
    if (!isObject(expression)) continue;
    const [key] = Object.keys(expression);
    const body = key === undefined ? undefined : expression[key];
    if (key === 'match' && isObject(body)) conditions.push(matchCondition(body));
    else if (key === 'accept' || key === 'drop' || key === 'return') verdict = { kind: key };
    else if (key === 'reject') verdict = { kind: 'reject' };
    else if ((key === 'jump' || key === 'goto') && isObject(body)) verdict = { kind: key, target: String(body.target) };
    else if (key === 'xt' && isObject(body)) {
      // iptables-nft's untranslated extensions; the comment match is harmless.
      if (body.type === 'target' && body.name === 'REJECT') verdict = { kind: 'reject' };
      else if (!(body.type === 'match' && body.name === 'comment'))
        conditions.push({ kind: 'unknown', what: `xt ${String(body.name)}` });
    } else if (key !== undefined && !PASSIVE.has(key)) {
      conditions.push({ kind: 'unknown', what: key });
    }
  }
  return { conditions, verdict, text, ...(handle === undefined ? {} : { handle }) };
}

/** Rule texts from `nft -a list ruleset`, keyed `family table chain handle`. */
export function ruleTexts(listing: string): Map<string, string> {
  const texts = new Map<string, string>();
  let table = '';
  let chain = '';
  for (const raw of listing.split('\n')) {
    const line = raw.trim();
    const tableMatch = /^table (\S+) (\S+) \{/.exec(line);
    if (tableMatch) {
      table = `${tableMatch[1]} ${tableMatch[2]}`;
      continue;
    }
    const chainMatch = /^chain (\S+) \{/.exec(line);
    if (chainMatch) {
      chain = chainMatch[1] ?? '';
      continue;
    }
    const handle = /^(.*\S)\s+# handle (\d+)$/.exec(line);
    if (handle && !line.startsWith('type ')) texts.set(`${table} ${chain} ${handle[2]}`, handle[1] ?? '');
  }
  return texts;
}

const FAMILIES: Record<string, readonly (4 | 6)[]> = { inet: [4, 6], ip: [4], ip6: [6] };

/** Translates a ruleset; tables of other families (arp, bridge, netdev) are left out. */
export function modelFromNftJson(json: Json, texts: ReadonlyMap<string, string> = new Map()): ModelTable[] {
  const items = isObject(json) && Array.isArray(json.nftables) ? json.nftables : [];
  const tables = new Map<
    string,
    { families: readonly (4 | 6)[]; chains: Map<string, { chain: JsonObject; rules: ModelRule[] }>; xt: boolean }
  >();
  for (const item of items) {
    if (!isObject(item)) continue;
    if (isObject(item.table)) {
      const families = FAMILIES[String(item.table.family)];
      if (families)
        tables.set(`${String(item.table.family)} ${String(item.table.name)}`, {
          families,
          chains: new Map(),
          xt: false,
        });
    } else if (isObject(item.chain)) {
      const table = tables.get(`${String(item.chain.family)} ${String(item.chain.table)}`);
      table?.chains.set(String(item.chain.name), { chain: item.chain, rules: [] });
    } else if (isObject(item.rule)) {
      const rule = item.rule;
      const tableName = `${String(rule.family)} ${String(rule.table)}`;
      const table = tables.get(tableName);
      const chain = table?.chains.get(String(rule.chain));
      if (!table || !chain) continue;
      const handle = typeof rule.handle === 'number' ? rule.handle : undefined;
      const expressions = Array.isArray(rule.expr) ? rule.expr : [];
      if (expressions.some((expression) => isObject(expression) && 'xt' in expression)) table.xt = true;
      const text = texts.get(`${tableName} ${String(rule.chain)} ${handle}`) ?? JSON.stringify(expressions);
      chain.rules.push(translateRule(expressions, text, handle));
    }
  }
  return [...tables].map(([name, table]) => ({
    name,
    families: table.families,
    source: table.xt ? 'iptables-nft' : 'nftables',
    chains: new Map(
      [...table.chains].map(([chainName, { chain, rules }]): [string, ModelChain] => [
        chainName,
        {
          name: chainName,
          rules,
          ...(typeof chain.hook === 'string' && chain.type === 'filter' ? { hook: chain.hook } : {}),
          ...(typeof chain.prio === 'number' ? { priority: chain.prio } : {}),
          ...(chain.policy === 'drop' || chain.policy === 'accept' ? { policy: chain.policy } : {}),
        },
      ]),
    ),
  }));
}
