/**
 * Turning per-vantage answers into one verdict, purely: which vantages reach the ports, which
 * do not, which did not answer, and whether they disagree (a filter upstream of some vantages,
 * a geo-block). The doctor can report the disagreement as a finding from this alone.
 */
import { answeredFromOutside, type ProbeResult, reachOf } from '../probe/index.js';
import type { CombinedReachability, CombinedVerdict, PortVerdict, VantageAnswer } from './types.js';

/**
 * A vantage got through when the port answered there and, if a proof was asked, it was ours (the
 * one verdict rule: src/probe/verdict.ts). Whether it was this host that answered, when no proof
 * was asked, is the identity question the doctor answers by connection, not the fleet.
 */
function reachable(result: ProbeResult): boolean {
  return answeredFromOutside(reachOf(result));
}

function reachabilityOf(from: number, notFrom: number): CombinedReachability {
  if (from + notFrom === 0) return 'unknown';
  if (notFrom === 0) return 'all';
  return from === 0 ? 'none' : 'some';
}

function portKey(result: { port: number; protocol: string }): string {
  return `${result.port}/${result.protocol}`;
}

/** The ports of a check in the order the first answer gives them. */
function portsOf(answers: readonly VantageAnswer[]): { port: number; protocol: 'tcp' | 'udp' }[] {
  const seen = new Map<string, { port: number; protocol: 'tcp' | 'udp' }>();
  for (const answer of answers) {
    for (const result of answer.results) {
      if (!seen.has(portKey(result))) seen.set(portKey(result), { port: result.port, protocol: result.protocol });
    }
  }
  return [...seen.values()];
}

function sentence(verdict: Omit<CombinedVerdict, 'summary'>): string {
  const unknown = verdict.unknown.length > 0 ? `; no answer from ${verdict.unknown.join(', ')}` : '';
  switch (verdict.reachable) {
    case 'all':
      return `reachable from all (${verdict.from.join(', ')})${unknown}`;
    case 'none':
      return `reachable from none (${verdict.notFrom.join(', ')})${unknown}`;
    case 'some': {
      const blocked = verdict.ports
        .filter((port) => port.notFrom.length > 0 && port.from.length > 0)
        .map((port) => `${port.port}/${port.protocol} not from ${port.notFrom.join(', ')}`);
      return `reachable from some: ${verdict.from.length > 0 ? `all ports from ${verdict.from.join(', ')}` : 'no vantage reaches every port'}${blocked.length > 0 ? `; ${blocked.join('; ')}` : ''}${unknown}`;
    }
    default:
      return `no vantage answered (${verdict.unknown.join(', ') || 'none asked'})`;
  }
}

/**
 * The combined verdict and disagreement summary of a fleet check. Vantages that did not answer
 * count neither way: they are listed under `unknown`, never as not reachable.
 */
export function judgeVantages(answers: readonly VantageAnswer[]): CombinedVerdict {
  const answered = answers.filter((answer) => answer.state === 'answered');
  const unknown = answers.filter((answer) => answer.state !== 'answered').map((answer) => answer.name);
  const ports: PortVerdict[] = portsOf(answered).map(({ port, protocol }) => {
    const states: Record<string, string> = {};
    const from: string[] = [];
    const notFrom: string[] = [];
    for (const answer of answers) {
      const result = answer.results.find((r) => r.port === port && r.protocol === protocol);
      if (answer.state !== 'answered' || !result) {
        states[answer.name] = 'unknown';
        continue;
      }
      states[answer.name] = result.state;
      (reachable(result) ? from : notFrom).push(answer.name);
    }
    return { port, protocol, reachable: reachabilityOf(from.length, notFrom.length), states, from, notFrom };
  });
  const from = answered.filter((answer) => answer.results.every(reachable)).map((answer) => answer.name);
  const notFrom = answered.filter((answer) => !answer.results.every(reachable)).map((answer) => answer.name);
  const disagree = ports.some((port) => port.reachable === 'some');
  const verdict = { reachable: reachabilityOf(from.length, notFrom.length), from, notFrom, unknown, disagree, ports };
  return { ...verdict, summary: sentence(verdict) };
}

/**
 * Per port, the least reachable state among answering vantages: what a single-checker client
 * (which reads only `results`) should believe. Empty when no vantage answered.
 */
export function leastReachableResults(answers: readonly VantageAnswer[]): ProbeResult[] {
  const answered = answers.filter((answer) => answer.state === 'answered');
  const first = answered[0];
  if (!first) return [];
  return first.results.map((result) => {
    for (const answer of answered) {
      const other = answer.results.find((r) => r.port === result.port && r.protocol === result.protocol);
      if (other && !reachable(other)) return other;
    }
    return result;
  });
}
