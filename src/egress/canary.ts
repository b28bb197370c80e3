/**
 * Canaries: a completed TCP handshake proves a server only when the network does not answer
 * for everyone. A transparent proxy or a captive portal accepts every connection on a port,
 * whatever the address, so before a handshake-only "allowed" is believed, the same port is
 * dialled at an address that cannot answer: a documentation address (RFC 5737 TEST-NET-1,
 * RFC 3849 2001:db8::/32), never routed on the internet. When it answers too, the network
 * answered, not the host: the port is `intercepted` (`answers-for-anyone`). Pure: no sockets.
 */
import { isIP, isIPv6 } from 'node:net';
import { cidrContains, formatIp, parseCidr, parseIp } from '../net/index.js';
import type { EgressResult, SweepTarget } from './types.js';

/** Why a handshake is not believed: the canary on the same port was answered too. */
export const ANSWERS_FOR_ANYONE = 'answers-for-anyone';

/**
 * The documentation ranges a canary may come from, in order of preference. A range in use
 * here (a local interface or a target has an address in it: labs and test networks do use
 * them) is passed over, since something there may really answer.
 */
const CANARY_RANGES = {
  4: [
    { cidr: parseCidr('192.0.2.0/24'), at: (n: number) => `192.0.2.${1 + (n % 254)}` },
    { cidr: parseCidr('198.51.100.0/24'), at: (n: number) => `198.51.100.${1 + (n % 254)}` },
    { cidr: parseCidr('203.0.113.0/24'), at: (n: number) => `203.0.113.${1 + (n % 254)}` },
  ],
  6: [
    { cidr: parseCidr('2001:db8:ca::/48'), at: (n: number) => `2001:db8:ca::${(n % 0xffff).toString(16)}` },
    { cidr: parseCidr('2001:db8:cb::/48'), at: (n: number) => `2001:db8:cb::${(n % 0xffff).toString(16)}` },
  ],
} as const;

/**
 * The canary for a port: 192.0.2.(1 + port mod 254), or 2001:db8:ca::<port> for IPv6, from
 * the first documentation range no address in `inUse` belongs to. It varies with the port so
 * that a middlebox remembering one address cannot pass for the internet on every port.
 */
export function canaryAddress(family: 4 | 6, port: number, inUse: Iterable<string> = []): string {
  const used = [...inUse].filter((address) => isIP(address) === family).map(parseIp);
  const ranges = CANARY_RANGES[family];
  const range = ranges.find((item) => !used.some((address) => cidrContains(item.cidr, address))) ?? ranges[0];
  const taken = new Set(used.map(formatIp));
  for (let step = 0; step < 254; step++) {
    const address = range.at(port + step);
    if (!taken.has(address)) return address;
  }
  return range.at(port);
}

/** Key of a canary: the family and the port of the handshakes it vouches for. */
function canaryKey(host: string, port: number): string {
  return `${isIPv6(host) ? 6 : 4}/${port}`;
}

/**
 * The canary targets for a sweep: one per (address family, TCP port) that some target
 * judges by handshake alone. Banner targets need none: the listener's answer is proof.
 * `localAddresses` (this host's) keep the canaries out of ranges this network uses.
 */
export function canaryTargets(targets: readonly SweepTarget[], localAddresses: readonly string[] = []): SweepTarget[] {
  const inUse = [...targets.map((target) => target.host), ...localAddresses];
  const wanted = new Map<string, SweepTarget>();
  for (const target of targets) {
    if (target.handshake !== 'connect') continue;
    for (const entry of target.entries) {
      if (entry.protocol !== 'tcp') continue;
      const key = canaryKey(target.host, entry.port);
      if (wanted.has(key)) continue;
      const family = isIPv6(target.host) ? 6 : 4;
      wanted.set(key, {
        host: canaryAddress(family, entry.port, inUse),
        entries: [entry],
        handshake: 'connect',
        canary: true,
      });
    }
  }
  return [...wanted.values()];
}

/**
 * Judges handshake-only verdicts by the canaries' results: a handshake stands only when the
 * canary on its port got no answer (timeout, refusal, unreachable). A canary that could not
 * be tried leaves the handshake unproven (`untested`, `canary-untested`).
 */
export function judgeByCanaries(results: readonly EgressResult[], canaries: readonly EgressResult[]): EgressResult[] {
  const byKey = new Map(canaries.map((canary) => [canaryKey(canary.host, canary.port), canary]));
  return results.map((result) => {
    if (result.state !== 'allowed' || result.reason !== 'handshake' || result.protocol !== 'tcp') return result;
    const canary = byKey.get(canaryKey(result.host, result.port));
    if (canary?.state === 'blocked') return result;
    if (canary?.state === 'allowed') return { ...result, state: 'intercepted', reason: ANSWERS_FOR_ANYONE };
    return { ...result, state: 'untested', reason: 'canary-untested' };
  });
}
