/**
 * Facts about this host's network: interfaces with their addresses, and default gateways.
 * On Linux the gateways come from the kernel's routing tables in /proc; elsewhere from the
 * system's route tool (documented in docs/architecture.md). Parsers are pure and exported
 * for tests; the readers are thin.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import { type AbortOptions, withDeadline } from '../deadline/index.js';
import { type AddressClass, classifyAddress, formatIp } from './address.js';

/** One address on one interface. */
export interface InterfaceAddress {
  readonly address: string;
  readonly family: 4 | 6;
  readonly prefix: number;
  readonly class: AddressClass;
}

/** A network interface and its addresses. */
export interface NetworkInterface {
  readonly name: string;
  readonly mac: string;
  readonly internal: boolean;
  readonly addresses: readonly InterfaceAddress[];
}

/** A default route: which router, through which interface. */
export interface DefaultGateway {
  readonly family: 4 | 6;
  readonly gateway: string;
  readonly interface: string;
  readonly metric: number;
  /** Where this fact came from, as evidence for the user. */
  readonly source: string;
}

/** This host's interfaces, loopback included (marked internal). */
export function listInterfaces(): NetworkInterface[] {
  return Object.entries(networkInterfaces()).map(([name, infos = []]) => ({
    name,
    mac: infos[0]?.mac ?? '',
    internal: infos.some((info) => info.internal),
    addresses: infos.map((info) => ({
      address: info.address,
      family: info.family === 'IPv4' ? 4 : 6,
      prefix: Number(info.cidr?.split('/')[1] ?? (info.family === 'IPv4' ? 32 : 128)),
      class: classifyAddress(info.address),
    })),
  }));
}

/** Route flag bits from linux/route.h: the route is usable, and it goes via a gateway. */
const RTF_UP = 0x1;
const RTF_GATEWAY = 0x2;

/** Parses /proc/net/route: IPv4 default routes (destination 0, mask 0, via a gateway). */
export function parseProcNetRoute(text: string): DefaultGateway[] {
  const gateways: DefaultGateway[] = [];
  for (const line of text.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 8) continue;
    const [iface = '', destination, gatewayHex = '', flagsHex = '0', , , metric = '0', mask] = fields;
    const flags = Number.parseInt(flagsHex, 16);
    if (destination !== '00000000' || mask !== '00000000') continue;
    if ((flags & RTF_UP) === 0 || (flags & RTF_GATEWAY) === 0) continue;
    // The kernel prints the address as a host-order (little-endian on x86/arm) 32-bit hex word.
    const bytes = Uint8Array.from(Buffer.from(gatewayHex, 'hex').reverse());
    gateways.push({
      family: 4,
      gateway: formatIp({ family: 4, bytes }),
      interface: iface,
      metric: Number(metric),
      source: '/proc/net/route',
    });
  }
  return gateways.sort((a, b) => a.metric - b.metric);
}

/** Parses /proc/net/ipv6_route: IPv6 default routes (::/0 via a next hop). */
export function parseProcNetIpv6Route(text: string): DefaultGateway[] {
  const gateways: DefaultGateway[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 10) continue;
    const [destination, destPrefix, , , nextHop = '', metricHex = '0', , , flagsHex = '0', iface = ''] = fields;
    const flags = Number.parseInt(flagsHex, 16);
    if (destination !== '0'.repeat(32) || destPrefix !== '00') continue;
    if (nextHop === '0'.repeat(32) || (flags & RTF_UP) === 0 || iface === 'lo') continue;
    gateways.push({
      family: 6,
      gateway: formatIp({ family: 6, bytes: Uint8Array.from(Buffer.from(nextHop, 'hex')) }),
      interface: iface,
      metric: Number.parseInt(metricHex, 16),
      source: '/proc/net/ipv6_route',
    });
  }
  return gateways.sort((a, b) => a.metric - b.metric);
}

/** Parses `route -n get default` (macOS, BSD) output. */
export function parseBsdRouteGet(text: string): DefaultGateway[] {
  const gateway = /^\s*gateway:\s*(\S+)/m.exec(text)?.[1];
  const iface = /^\s*interface:\s*(\S+)/m.exec(text)?.[1];
  if (!gateway || !iface) return [];
  return [
    { family: gateway.includes(':') ? 6 : 4, gateway, interface: iface, metric: 0, source: 'route -n get default' },
  ];
}

/** Parses `Get-NetRoute -DestinationPrefix 0.0.0.0/0 | ConvertTo-Json` (Windows) output. */
export function parseWindowsNetRoute(text: string): DefaultGateway[] {
  const parsed: unknown = JSON.parse(text);
  const routes = (Array.isArray(parsed) ? parsed : [parsed]) as Array<Record<string, unknown>>;
  return routes
    .filter((route) => typeof route.NextHop === 'string' && route.NextHop !== '0.0.0.0')
    .map((route) => ({
      family: 4 as const,
      gateway: String(route.NextHop),
      interface: String(route.InterfaceAlias ?? route.ifIndex ?? ''),
      metric: Number(route.RouteMetric ?? 0),
      source: 'Get-NetRoute',
    }));
}

/** How long the fallback route tools may take before we give up. */
const ROUTE_TOOL_DEADLINE_MS = 3000;

function runTool(command: string, args: string[], options: AbortOptions): Promise<string> {
  const signal = withDeadline(options.signal, ROUTE_TOOL_DEADLINE_MS, command);
  return new Promise((resolve, reject) => {
    execFile(command, args, { signal, maxBuffer: 1 << 20 }, (error, stdout) =>
      error ? reject(error) : resolve(stdout),
    );
  });
}

/**
 * This host's default gateways, best (lowest metric) first, IPv4 before IPv6.
 * An empty list means no default route, which is a fact, not an error.
 */
export async function defaultGateways(options: AbortOptions = {}): Promise<DefaultGateway[]> {
  if (process.platform === 'linux') {
    const [v4, v6] = await Promise.all([
      readFile('/proc/net/route', 'utf8').then(parseProcNetRoute, () => []),
      readFile('/proc/net/ipv6_route', 'utf8').then(parseProcNetIpv6Route, () => []),
    ]);
    return [...v4, ...v6];
  }
  if (process.platform === 'win32') {
    const script =
      'Get-NetRoute -DestinationPrefix 0.0.0.0/0 | Select-Object NextHop,InterfaceAlias,RouteMetric | ConvertTo-Json';
    return parseWindowsNetRoute(await runTool('powershell.exe', ['-NoProfile', '-Command', script], options));
  }
  return parseBsdRouteGet(await runTool('route', ['-n', 'get', 'default'], options));
}
