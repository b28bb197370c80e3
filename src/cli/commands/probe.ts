/** `porthole probe HOST PORTS [--timeout MS] [--concurrency N] [--retries N]`: connect probes from here. */
import { lookup } from 'node:dns/promises';
import { positiveInteger } from '../../config/index.js';
import { PortholeError } from '../../errors/index.js';
import { assertUsableTarget, isIpLiteral, parsePortSpec, portEntries } from '../../net/index.js';
import { type ProbeResult, probePorts } from '../../probe/index.js';
import type { CommandSpec } from '../commandSpec.js';
import type { Output } from '../output.js';

/** nmap's initial RTT timeout: long enough for any sane path, short enough to wait for. */
const DEFAULT_TIMEOUT_MS = 1000;
const DEFAULT_CONCURRENCY = 64;

/** Colours a state for a terminal. */
export function styledState(output: Output, state: string): string {
  const padded = state.padEnd(13);
  return state === 'open'
    ? output.style('green', padded)
    : state === 'closed'
      ? output.style('red', padded)
      : output.style('yellow', padded);
}

function table(output: Output, results: readonly ProbeResult[]): string {
  const rows = results.map(
    (result) =>
      `${`${result.port}/${result.protocol}`.padEnd(11)} ${styledState(output, result.state)} ${result.reason.padEnd(18)} ${result.ms.toFixed(1)} ms`,
  );
  return [`${'PORT'.padEnd(11)} ${'STATE'.padEnd(13)} ${'REASON'.padEnd(18)} TIME`, ...rows].join('\n');
}

/** The `probe` command. */
export const probeCommand: CommandSpec = {
  name: 'probe',
  args: '<host> <ports>',
  summary: 'TCP connect (and cooperative UDP) probes from here, classified like nmap -sT',
  options: [
    ['--timeout <ms>', `per-probe deadline in milliseconds (default ${DEFAULT_TIMEOUT_MS})`],
    ['--concurrency <n>', `probes in flight at once (default ${DEFAULT_CONCURRENCY})`],
    ['--retries <n>', 'probe a filtered port again this many times (default 0)'],
  ],
  run: async ({ args, options, output, signal }) => {
    const [written = '', spec = ''] = args;
    // [2001:db8::7] as in URLs is the address; zone ids, link-local and IPv4-mapped are refused with why.
    const host = written.replace(/^\[(.*)\]$/, '$1');
    assertUsableTarget(host);
    const ranges = parsePortSpec(spec);
    const timeoutMs = positiveInteger(options.timeout, '--timeout', DEFAULT_TIMEOUT_MS, 600_000);
    const concurrency = Math.max(1, positiveInteger(options.concurrency, '--concurrency', DEFAULT_CONCURRENCY, 4096));
    const retries = positiveInteger(options.retries, '--retries', 0, 10);
    let address = host;
    if (!isIpLiteral(host)) {
      try {
        address = (await lookup(host)).address;
      } catch (error) {
        throw new PortholeError('E_ADDRESS', {
          detail: `${host} does not resolve (${(error as { code?: string }).code ?? 'error'})`,
          cause: error,
        });
      }
    }
    const started = performance.now();
    const results = await probePorts(address, [...portEntries(ranges)], { timeoutMs, concurrency, retries, signal });
    const ms = Math.round(performance.now() - started);
    const counts = new Map<string, number>();
    for (const result of results) counts.set(result.state, (counts.get(result.state) ?? 0) + 1);
    return {
      exitCode: results.every((result) => result.state === 'open') ? 0 : 1,
      json: { host, address, timeoutMs, ms, results },
      human: () =>
        [
          `probe ${host}${address !== host ? ` (${address})` : ''}: ${results.length} port(s) in ${ms} ms, timeout ${timeoutMs} ms`,
          table(output, results),
          [...counts].map(([state, count]) => `${count} ${state}`).join(', '),
        ].join('\n'),
    };
  },
};
