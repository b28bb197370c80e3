/**
 * pf on macOS: whether it is enabled (`pfctl -s info`) and what its loaded rules do to an inbound
 * packet from the internet (`pfctl -s rules`, root only). pf evaluates every rule and the LAST
 * match decides, unless a matching rule says `quick`; no match passes. Anchors are rulesets of
 * their own that `-s rules` does not print, and rule conditions porthole does not model (an
 * interface, a source table, a user) may or may not match: each of those makes the answer
 * uncertain and is named, never guessed (the architecture's rule for rule models). Pure.
 */
import type { Transport } from '../../net/index.js';

/** pf's status from `pfctl -s info`. */
export type PfStatus = 'enabled' | 'disabled' | undefined;

/** `pfctl -s info` → enabled or disabled (its first line: `Status: Enabled for 0 days 13:02:35`). */
export function parsePfInfo(text: string): PfStatus {
  const match = /^\s*Status:\s*(Enabled|Disabled)/im.exec(text);
  if (!match) return undefined;
  return match[1]?.toLowerCase() === 'enabled' ? 'enabled' : 'disabled';
}

/** How one rule relates to the packet. */
type Match = 'yes' | 'no' | 'maybe';

/** One filter rule, as much of it as porthole judges. */
export interface PfRule {
  readonly text: string;
  readonly kind: 'pass' | 'block' | 'anchor' | 'other';
  readonly quick: boolean;
}

/** `pfctl -s rules` → its rules, one a line (scrub lines and blank lines dropped). */
export function parsePfRules(text: string): PfRule[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#') && !/^scrub\b|^scrub-anchor\b/.test(line))
    .map((line) => {
      const word = line.split(/\s+/)[0];
      const kind = word === 'pass' || word === 'block' || word === 'anchor' ? word : 'other';
      return { text: line, kind, quick: /\squick(\s|$)/.test(line) };
    });
}

/** A port condition (`port = 5655`, `port 5655`, `port { 80 443 }`, `port 5000:5010`, `port > 1024`...). */
function portCondition(spec: string, port: number): Match {
  const text = spec.trim();
  const list = /^\{([^}]*)\}$/.exec(text);
  if (list) {
    const items = (list[1] ?? '').split(/[\s,]+/).filter(Boolean);
    const answers = items.map((item) => portCondition(item, port));
    return answers.includes('yes') ? 'yes' : answers.includes('maybe') ? 'maybe' : 'no';
  }
  const range = /^(\d+)\s*:\s*(\d+)$/.exec(text);
  if (range) return port >= Number(range[1]) && port <= Number(range[2]) ? 'yes' : 'no';
  const compare = /^(=|!=|<=|>=|<|>)?\s*(\d+)$/.exec(text);
  if (compare) {
    const value = Number(compare[2]);
    switch (compare[1] ?? '=') {
      case '=':
        return port === value ? 'yes' : 'no';
      case '!=':
        return port !== value ? 'yes' : 'no';
      case '<':
        return port < value ? 'yes' : 'no';
      case '<=':
        return port <= value ? 'yes' : 'no';
      case '>':
        return port > value ? 'yes' : 'no';
      case '>=':
        return port >= value ? 'yes' : 'no';
    }
  }
  const between = /^(\d+)\s*(><|<>)\s*(\d+)$/.exec(text);
  if (between) {
    const low = Number(between[1]);
    const high = Number(between[3]);
    const inside = port > low && port < high;
    return (between[2] === '><' ? inside : !inside) ? 'yes' : 'no';
  }
  return 'maybe';
}

/**
 * Whether a pass/block rule applies to an inbound IPv4 packet from anywhere to this host's
 * `port`. The packet's interface and this host's address are not known, so `on IF` and a
 * destination other than `any` make it a maybe (`on lo0` never sees a packet from outside).
 */
export function ruleMatches(rule: PfRule, protocol: Transport, port: number): Match {
  let text = ` ${rule.text} `;
  if (/\sout\s/.test(text)) return 'no';
  if (/\sinet6\s/.test(text)) return 'no';
  if (/\son\s+lo0?\s/.test(text)) return 'no';
  const proto = /\sproto\s+(\{[^}]*\}|\S+)/.exec(text);
  if (proto?.[1] && !proto[1].replace(/[{},]/g, ' ').split(/\s+/).includes(protocol)) return 'no';
  let answer: Match = 'yes';
  // `all` is `from any to any`.
  text = text.replace(/\sall\s/, ' from any to any ');
  const from = /\sfrom\s+(!?\s*\S+)(?:\s+port\s+(\{[^}]*\}|[^\s]+(?:\s*(?:><|<>|:)\s*\d+)?))?/.exec(text);
  if (from?.[1] && from[1] !== 'any') answer = 'maybe';
  // A source port condition: the internet client's port is unknown.
  if (from?.[2]) answer = 'maybe';
  const to = /\sto\s+(!?\s*\S+)(?:\s+port\s+(\{[^}]*\}|(?:=|!=|<=|>=|<|>)?\s*\d+(?:\s*(?:><|<>|:)\s*\d+)?))?/.exec(
    text,
  );
  if (to?.[1] && to[1] !== 'any' && to[1] !== '(self)' && to[1] !== 'self') answer = 'maybe';
  if (to?.[2]) {
    const portAnswer = portCondition(to[2], port);
    if (portAnswer === 'no') return 'no';
    if (portAnswer === 'maybe') answer = 'maybe';
  }
  // Conditions porthole does not model: they may restrict the rule to other packets.
  if (/\s(on|user|group|tagged|received-on|os|rtable|probability)\s/.test(text) || /<[^>]+>/.test(text)) {
    answer = 'maybe';
  }
  return answer;
}

/** What pf's main ruleset does to the packet. */
export interface PfVerdict {
  readonly verdict: 'pass' | 'block';
  /** The rule that decided (undefined: no rule matched, pf passes). */
  readonly decidedBy: string | undefined;
  /** Rules and anchors that might change the outcome and were not judged. */
  readonly unsure: readonly string[];
}

/** Walks the rules the way pf does: last match wins, a `quick` match ends the walk. Pure. */
export function evaluatePf(rules: readonly PfRule[], protocol: Transport, port: number): PfVerdict {
  let verdict: PfVerdict['verdict'] = 'pass';
  let decidedBy: string | undefined;
  const unsure: string[] = [];
  for (const rule of rules) {
    if (rule.kind === 'anchor') {
      unsure.push(`${rule.text} (an anchor's own rules are not listed by pfctl -s rules)`);
      continue;
    }
    if (rule.kind === 'other') continue;
    const match = ruleMatches(rule, protocol, port);
    if (match === 'no') continue;
    if (match === 'maybe') {
      // Only a rule that would change the outcome matters.
      if ((rule.kind === 'block') !== (verdict === 'block')) unsure.push(rule.text);
      continue;
    }
    verdict = rule.kind;
    decidedBy = rule.text;
    if (rule.quick) break;
  }
  return { verdict, decidedBy, unsure };
}
