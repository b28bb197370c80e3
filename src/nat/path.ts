/**
 * The routers between this host and a destination, from `tracepath` (iputils; unprivileged,
 * it reads ICMP time-exceeded through IP_RECVERR, which Node cannot). A hop in 100.64.0.0/10
 * is a carrier-grade NAT's inside; a private hop after the first is a second NAT router.
 */

import { type AddressClass, classifyAddress, isIpLiteral } from '../net/index.js';
import { run } from '../system/index.js';

/** One hop of the path. */
export interface Hop {
  readonly ttl: number;
  readonly address: string;
  readonly class: AddressClass;
}

/** Parses `tracepath -n` output into hops (first answer per TTL). Pure. */
export function parseTracepath(text: string): Hop[] {
  const hops = new Map<number, Hop>();
  for (const line of text.split('\n')) {
    const match = /^\s*(\d+):\s+(\S+)/.exec(line);
    if (!match) continue;
    const ttl = Number(match[1]);
    const address = match[2] ?? '';
    if (!isIpLiteral(address) || hops.has(ttl)) continue;
    hops.set(ttl, { ttl, address, class: classifyAddress(address) });
  }
  return [...hops.values()].sort((a, b) => a.ttl - b.ttl);
}

/** How far to look: CGNAT and double NAT show in the first few hops. */
const MAX_HOPS = 6;

/** The path toward `destination`, or undefined when tracepath is not installed or fails. */
export async function tracePath(
  destination: string,
  options: { signal?: AbortSignal | undefined } = {},
): Promise<{ hops: Hop[]; tool: string } | undefined> {
  const result = await run('tracepath', ['-n', '-m', String(MAX_HOPS), destination], {
    timeoutMs: 8000,
    ...(options.signal ? { signal: options.signal } : {}),
  }).catch(() => undefined);
  if (!result || (result.code !== 0 && result.stdout === '')) return undefined;
  return { hops: parseTracepath(result.stdout), tool: `tracepath -n -m ${MAX_HOPS} ${destination}` };
}
