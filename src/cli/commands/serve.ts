/** `porthole serve`: the check service, until interrupted. */
// The small options module, not the folder's index: that would load Fastify for every command.
import { parsePageFamilies } from '../../checker/index.js';
import { positiveInteger } from '../../config/index.js';
import { PortholeError } from '../../errors/index.js';
import { formatPortSpec, mergeRanges, parseCidrList, parseIp, parsePortSpec } from '../../net/index.js';
import { packageVersion } from '../../system/index.js';
import type { CommandSpec } from '../commandSpec.js';
import { FLEET_SERVE_OPTIONS, serveFleet } from './serveFleet.js';

/** The egress listener's settings from the flags; undefined when none was asked for. */
function egressOptions(options: Readonly<Record<string, unknown>>, listenHost: string) {
  const tcpText = typeof options.egressPorts === 'string' ? options.egressPorts : undefined;
  const udpText = typeof options.egressUdpPorts === 'string' ? options.egressUdpPorts : undefined;
  if (tcpText === undefined && udpText === undefined) {
    if (options.egressAddress !== undefined) {
      throw new PortholeError('E_USAGE', {
        detail: '--egress-address without --egress-ports',
        hint: 'Add --egress-ports SPEC (e.g. 1-65535).',
      });
    }
    return undefined;
  }
  const ranges = [
    ...(tcpText ? parsePortSpec(tcpText) : []),
    ...(udpText ? parsePortSpec(udpText).map((range) => ({ ...range, protocol: 'udp' as const })) : []),
  ];
  const address = typeof options.egressAddress === 'string' ? options.egressAddress : listenHost;
  parseIp(address);
  return {
    address,
    tcp: mergeRanges(ranges.filter((range) => range.protocol === 'tcp')),
    udp: mergeRanges(ranges.filter((range) => range.protocol === 'udp')),
  };
}

/** The DNS name service from --dns-* flags (src/dns/endpoint.ts), loaded only when asked for. */
async function nameServiceExtension(options: Readonly<Record<string, unknown>>) {
  const { nameServiceFromFiles } = await import('../../dns/index.js');
  return nameServiceFromFiles({
    zone: String(options.dnsZone),
    server: typeof options.dnsServer === 'string' ? options.dnsServer : undefined,
    keyFile: typeof options.tsigKey === 'string' ? options.tsigKey : undefined,
    usersFile: typeof options.dnsUsers === 'string' ? options.dnsUsers : undefined,
    trustProxy: parseCidrList(typeof options.trustProxy === 'string' ? options.trustProxy : ''),
    requestsPerMinute: Math.max(1, positiveInteger(options.dnsRateLimit, '--dns-rate-limit', 60, 10_000_000)),
  });
}

/** The `serve` command. */
export const serveCommand: CommandSpec = {
  name: 'serve',
  summary: 'run the check service (HTTP API, web page, metrics)',
  options: [
    ['--listen <addr:port>', 'address and port of the HTTP API', '127.0.0.1:8080'],
    ['--egress-ports <spec>', 'TCP ports the egress listener answers on (up to 1-65535; `/udp` items are UDP)'],
    ['--egress-udp-ports <spec>', 'UDP ports the egress listener echoes on'],
    ['--egress-address <addr>', 'address the egress listener answers on (default: the --listen address)'],
    [
      '--page-ipv4 <url>',
      "this service's URL over IPv4 only (a name with only an A record): the page checks IPv4 there",
    ],
    ['--page-ipv6 <url>', "this service's URL over IPv6 only (only an AAAA record): the page checks IPv6 there"],
    [
      '--page-origin <urls>',
      'origins where people open the page, allowed to call the two URLs (default: the two URLs themselves)',
    ],
    ['--allow-targets <cidrs>', 'non-public ranges the service may probe (labs)'],
    ['--trust-proxy <cidrs>', 'proxies whose X-Forwarded-For is believed'],
    ['--data <dir>', 'directory for the SQLite record of checks (default: $XDG_DATA_HOME/porthole)'],
    ['--retention-days <n>', 'keep checks this many days', '30'],
    ['--max-ports <n>', 'ports one check may name', '64'],
    ['--rate-limit <n>', 'checks per caller per minute', '30'],
    ['--probe-timeout <ms>', 'per-port probe deadline', '1500'],
    ['--caller-concurrency <n>', 'checks one caller may have running at once', '2'],
    ['--stun-port <n>', 'also answer STUN Binding requests on this UDP port (and the next, for RFC 5780)'],
    [
      '--stun-address <addr[,addr2]>',
      'STUN address(es); two addresses enable RFC 5780 (default: the --listen address)',
    ],
    ['--dns-zone <zone>', 'hand out names in this zone: a dyndns2 endpoint at /nic/update (needs the three below)'],
    ['--dns-server <addr[:port]>', "the zone's primary, updated by RFC 2136"],
    ['--tsig-key <file>', 'TSIG key file the primary accepts updates with (tsig-keygen)'],
    ['--dns-users <file>', 'users of the name service (JSON, scrypt passwords, chmod 600)'],
    ['--dns-rate-limit <n>', 'name service requests per user and per caller per minute', '60'],
    ['--log-level <level>', 'structured logs on stderr: fatal, error, warn, info, debug or silent', 'info'],
    ...FLEET_SERVE_OPTIONS,
  ],
  run: async ({ args, options, output, env, signal }) => {
    // A fleet member (front or vantage) when --nats is given; otherwise the single process below.
    if (options.nats !== undefined) {
      // The fleet's front serves the API only; page options there would be silently ignored.
      const pageFlags = { pageIpv4: '--page-ipv4', pageIpv6: '--page-ipv6', pageOrigin: '--page-origin' } as const;
      const given = Object.entries(pageFlags).find(([key]) => options[key] !== undefined);
      if (given) {
        throw new PortholeError('E_USAGE', {
          detail: `${given[1]} with --nats: the fleet's front serves no page`,
          hint: 'Give the page options to a single `porthole serve` (without --nats).',
        });
      }
      return serveFleet({ args, options, output, env, signal });
    }
    // Fastify, SQLite and prom-client load only when serving: other commands start faster.
    const { defaultDataDir, parseListen, startChecker } = await import('../../checker/index.js');
    const { host, port } = parseListen(String(options.listen));
    const egress = egressOptions(options, host);
    const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
    const pageFamilies = parsePageFamilies({
      ipv4: text(options.pageIpv4),
      ipv6: text(options.pageIpv6),
      origins: text(options.pageOrigin),
    });
    const stunPort =
      options.stunPort === undefined
        ? undefined
        : Math.max(1, positiveInteger(options.stunPort, '--stun-port', 3478, 65534));
    const [stunPrimary = host, stunAlternate] =
      typeof options.stunAddress === 'string' ? options.stunAddress.split(',').map((a) => a.trim()) : [];
    const running = await startChecker({
      host,
      port,
      dataDir: typeof options.data === 'string' ? options.data : defaultDataDir(env),
      retentionDays: positiveInteger(options.retentionDays, '--retention-days', 30, 36_500),
      allowTargets: parseCidrList(typeof options.allowTargets === 'string' ? options.allowTargets : ''),
      trustProxy: parseCidrList(typeof options.trustProxy === 'string' ? options.trustProxy : ''),
      maxPorts: Math.max(1, positiveInteger(options.maxPorts, '--max-ports', 64, 65535)),
      rateLimitPerMinute: Math.max(1, positiveInteger(options.rateLimit, '--rate-limit', 30, 10_000_000)),
      probeTimeoutMs: Math.max(1, positiveInteger(options.probeTimeout, '--probe-timeout', 1500, 60_000)),
      concurrencyPerCaller: Math.max(1, positiveInteger(options.callerConcurrency, '--caller-concurrency', 2, 10_000)),
      version: packageVersion(),
      logger: options.logLevel === 'silent' ? false : { level: String(options.logLevel), stream: process.stderr },
      ...(stunPort
        ? { stun: { primary: stunPrimary, port: stunPort, ...(stunAlternate ? { alternate: stunAlternate } : {}) } }
        : {}),
      ...(egress ? { egress } : {}),
      ...(pageFamilies ? { pageFamilies } : {}),
      ...(options.dnsZone !== undefined ? { extend: await nameServiceExtension(options) } : {}),
    });
    if (running.egress) {
      const listener = running.egress;
      const served = [
        listener.tcp.length > 0 ? formatPortSpec(listener.tcp) : '',
        listener.udp.length > 0 ? formatPortSpec(listener.udp) : '',
      ]
        .filter(Boolean)
        .join(',');
      output.notice(
        `egress listener on ${listener.address}: ${served} (${listener.mode === 'redirect' ? 'one socket per transport, nftables redirect' : 'a socket per port'})`,
      );
    }
    if (pageFamilies) {
      output.notice(
        `the page checks IPv4 at ${pageFamilies.ipv4} and IPv6 at ${pageFamilies.ipv6}, opened at ${pageFamilies.origins.join(', ')}`,
      );
    }
    output.notice(
      `porthole check service listening on ${running.url}${stunPort ? `; STUN on ${stunPrimary}${stunAlternate ? ` and ${stunAlternate}` : ''} port ${stunPort}${stunAlternate ? ` and ${stunPort + 1}` : ''}` : ''}`,
    );
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener('abort', () => resolve(), { once: true });
    });
    await running.close();
    return { exitCode: 0, json: { url: running.url, stopped: true }, human: () => `stopped ${running.url}` };
  },
};
