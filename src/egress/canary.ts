/**
 * Canaries: a completed TCP handshake proves a server only when the network does not answer
 * for everyone. A transparent proxy or a captive portal accepts every connection on a port,
 * whatever the address, so before a handshake-only "allowed" is believed, the same port is
 * dialled at an address that cannot answer: a documentation address (RFC 5737 TEST-NET-1,
 * RFC 3849 2001:db8::/32), never routed on the internet. When it answers too, the network
 * answered, not the host: the port is `intercepted` (`answers-for-anyone`). Pure: no sockets.
 */
import { isIPv6 } from 'node:net';
import type { EgressResult, SweepTarget } from './sweep.js';

/** Why a handshake is not believed: the canary on the same port was answered too. */
export const ANSWERS_FOR_ANYONE = 'answers-for-anyone';

/**
 * The canary for a port: 192.0.2.(1 + port mod 254), or 2001:db8:ca::<port> for IPv6. It
 * varies with the port so that a middlebox remembering one address cannot pass for the
 * internet on every port; an address in `avoid` (a target named it) is skipped.
 */
export function canaryAddress(family: 4 | 6, port: number, avoid: ReadonlySet<string> = new Set()): string {
  for (let step = 0; step < 254; step++) {
    const address =
      family === 4 ? `192.0.2.${1 + ((port + step) % 254)}` : `2001:db8:ca::${((port + step) % 0xffff).toString(16)}`;
    if (!avoid.has(address)) return address;
  }
  return family === 4 ? '192.0.2.255' : '2001:db8:ca::ffff';
}

/** Key of a canary: the family and the port of the handshakes it vouches for. */
function canaryKey(host: string, port: number): string {
  return `${isIPv6(host) ? 6 : 4}/${port}`;
}

/**
 * The canary targets for a sweep: one per (address family, TCP port) that some target
 * judges by handshake alone. Banner targets need none: the listener's answer is proof.
 */
export function canaryTargets(targets: readonly SweepTarget[]): SweepTarget[] {
  const avoid = new Set(targets.map((target) => target.host));
  const wanted = new Map<string, SweepTarget>();
  for (const target of targets) {
    if (target.handshake !== 'connect') continue;
    for (const entry of target.entries) {
      if (entry.protocol !== 'tcp') continue;
      const key = canaryKey(target.host, entry.port);
      if (wanted.has(key)) continue;
      const family = isIPv6(target.host) ? 6 : 4;
      wanted.set(key, {
        host: canaryAddress(family, entry.port, avoid),
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
