/** Many probes with bounded concurrency, per-probe deadlines and one cancellation signal. */
import type { Socket } from 'node:net';
import { type AbortOptions, throwIfAborted } from '../deadline/index.js';
import type { PortEntry } from '../net/index.js';
import { probeTcp } from './tcp.js';
import type { ProbeResult } from './types.js';
import { probeUdp } from './udp.js';
import { probeUdpService } from './udpService.js';

/** Options for probePorts. */
export interface ScanOptions extends AbortOptions {
  /** Per-probe deadline in milliseconds. */
  readonly timeoutMs: number;
  /** Probes in flight at once. */
  readonly concurrency: number;
  /** Probes of filtered ports repeated this many times (a lost SYN should not decide). */
  readonly retries?: number;
  readonly proofKey?: Uint8Array | undefined;
  /** Keeps open TCP connections that carried no proof (see TcpProbeOptions.hold). */
  readonly hold?: ((socket: Socket) => void) | undefined;
  /** Called as each result is known, for progress display. */
  readonly onResult?: (result: ProbeResult) => void;
  /** The slowest answer seen from the host so far (set by probePorts for its UDP probes). */
  readonly rttHint?: () => number | undefined;
}

/** Probes one entry, repeating a filtered verdict up to `retries` times. */
export async function probeEntry(host: string, entry: PortEntry, options: ScanOptions): Promise<ProbeResult> {
  // UDP without a proof key: the real server's protocol is asked (DNS, STUN, SIP, NTP), and
  // silence stays open|filtered; with a key, porthole's own listener answers the proof probe.
  const probe =
    entry.protocol === 'tcp'
      ? probeTcp
      : options.proofKey
        ? probeUdp
        : (target: string, port: number, scan: ScanOptions) =>
            probeUdpService(target, port, { ...scan, ...(scan.rttHint ? { rttHint: scan.rttHint } : {}) });
  let result = await probe(host, entry.port, options);
  const silent = (state: string) => state === 'filtered' || state === 'open|filtered';
  for (let attempt = 0; attempt < (options.retries ?? 0) && silent(result.state); attempt++) {
    result = await probe(host, entry.port, options);
  }
  return result;
}

/** Probes every entry, at most `concurrency` at once; results come back in the entries' order. */
export async function probePorts(
  host: string,
  entries: readonly PortEntry[],
  options: ScanOptions,
): Promise<ProbeResult[]> {
  throwIfAborted(options.signal);
  const results: ProbeResult[] = new Array(entries.length);
  let next = 0;
  // The slowest answer (open or closed, either protocol) from this host: silent UDP ports are
  // decided on it rather than on the full timeout (udpService.ts), as nmap adapts its timeout.
  let slowest: number | undefined;
  const scan: ScanOptions = { ...options, rttHint: () => slowest };
  const worker = async () => {
    while (next < entries.length) {
      const index = next++;
      const entry = entries[index] as PortEntry;
      const result = await probeEntry(host, entry, scan);
      if (result.state === 'open' || result.state === 'closed') slowest = Math.max(slowest ?? 0, result.ms);
      results[index] = result;
      options.onResult?.(result);
    }
  };
  const workers = Math.max(1, Math.min(options.concurrency, entries.length));
  await Promise.all(Array.from({ length: workers }, worker));
  return results;
}
