/** `porthole discover`: what announces itself on the LAN (SSDP, mDNS/DNS-SD, WS-Discovery). */

import { positiveInteger } from '../../config/index.js';
import type { DiscoveryAnswer, DiscoveryProtocol } from '../../discovery/index.js';
import { PortholeError } from '../../errors/index.js';
import type { CommandSpec } from '../commandSpec.js';

/** The discovery module (dns-packet and the XML parser among it) loads only when discover runs. */
const discoveryModule = () => import('../../discovery/index.js');

const PROTOCOLS: readonly DiscoveryProtocol[] = ['ssdp', 'mdns', 'wsd'];
/** As in the library; repeated here so --help needs no import of the module. */
const DEFAULT_TIMEOUT_MS = 1500;
const DEFAULT_QUIET_MS = 400;

function listOf(value: unknown): string[] | undefined {
  if (typeof value !== 'string') return undefined;
  return value
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
}

function protocolsOf(value: unknown): DiscoveryProtocol[] | undefined {
  const list = listOf(value);
  if (!list) return undefined;
  for (const protocol of list) {
    if (!PROTOCOLS.includes(protocol as DiscoveryProtocol)) {
      throw new PortholeError('E_USAGE', { detail: `--protocol takes ssdp, mdns or wsd, not "${protocol}"` });
    }
  }
  return list as DiscoveryProtocol[];
}

function table(answers: readonly DiscoveryAnswer[]): string {
  const rows = answers.map((a) => [
    a.protocol,
    // An SSDP USN already carries its type; WS-Discovery names an endpoint, so its types go first.
    a.protocol === 'mdns' ? `${a.name} (${a.type})` : a.protocol === 'ssdp' ? a.name : `${a.type}  ${a.name}`,
    a.address,
    a.port === null ? '-' : String(a.port),
    a.interface,
    a.from,
  ]);
  const header = ['PROTOCOL', 'NAME / TYPE', 'ADDRESS', 'PORT', 'INTERFACE', 'FROM'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** The `discover` command. */
export const discoverCommand: CommandSpec = {
  name: 'discover',
  summary: 'what announces itself on the LAN (SSDP, mDNS/DNS-SD, WS-Discovery)',
  options: [
    ['--protocol <list>', 'ssdp, mdns, wsd, comma-separated (default: all three)'],
    ['--type <list>', 'what to look for: _x._tcp (mDNS), urn:... (SSDP), dn:NetworkVideoTransmitter (WS-Discovery)'],
    ['--interface <list>', 'interfaces to ask on, comma-separated (default: every non-loopback one)'],
    ['--timeout <ms>', `the longest to listen for answers (default ${DEFAULT_TIMEOUT_MS})`],
    [
      '--quiet <ms>',
      `end once nothing new came for this long (default ${DEFAULT_QUIET_MS}; 0 listens the whole --timeout)`,
    ],
  ],
  run: async ({ options, output, signal }) => {
    const { discover } = await discoveryModule();
    const protocols = protocolsOf(options.protocol);
    const types = listOf(options.type);
    const interfaces = listOf(options.interface);
    const timeoutMs = positiveInteger(options.timeout, '--timeout', DEFAULT_TIMEOUT_MS, 60_000);
    const quietMs = positiveInteger(options.quiet, '--quiet', DEFAULT_QUIET_MS, 60_000);
    const warnings: string[] = [];
    const started = performance.now();
    const answers: (DiscoveryAnswer & { readonly ms: number })[] = [];
    for await (const answer of discover({
      signal,
      timeoutMs,
      quietMs,
      ...(protocols ? { protocols } : {}),
      ...(types ? { types } : {}),
      ...(interfaces ? { interfaces } : {}),
      onWarning: (warning) => {
        warnings.push(warning);
        output.debug(warning);
      },
    })) {
      // When each answer came, so a user (and the benchmark) sees how long finding took.
      answers.push({ ...answer, ms: Math.round(performance.now() - started) });
    }
    const ms = Math.round(performance.now() - started);
    const sorted = [...answers].sort(
      (a, b) =>
        PROTOCOLS.indexOf(a.protocol) - PROTOCOLS.indexOf(b.protocol) ||
        a.name.localeCompare(b.name) ||
        a.address.localeCompare(b.address),
    );
    return {
      exitCode: sorted.length > 0 ? 0 : 1,
      json: {
        answers: sorted.map((a) => ({
          protocol: a.protocol,
          name: a.name,
          type: a.type,
          address: a.address,
          port: a.port,
          interface: a.interface,
          from: a.from,
          ms: a.ms,
          ...a.details,
        })),
        timeoutMs,
        ms,
        warnings,
      },
      human: () =>
        sorted.length === 0
          ? `nothing answered in ${timeoutMs} ms${warnings.length > 0 ? ` (${warnings.length} datagram(s) refused; --verbose shows them)` : ''}`
          : [
              table(sorted),
              `${sorted.length} answer(s) in ${ms} ms${warnings.length > 0 ? `, ${warnings.length} datagram(s) refused (--verbose shows them)` : ''}`,
            ].join('\n'),
    };
  },
};
