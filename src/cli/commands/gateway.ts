/** `porthole gateway`, `map`, `unmap` and `mappings`: router port mapping from the command line. */
import { PortholeError } from '../../errors/index.js';
import type { GatewayInfo, Mapping, MappingMethod } from '../../gateway/index.js';

/** The gateway module (an XML parser among it) loads only when a gateway command runs. */
const gatewayModule = () => import('../../gateway/index.js');

import { parsePortRangeText, parsePortSpec } from '../../net/portSpec.js';
import type { CommandSpec } from '../commandSpec.js';
import { positiveInteger } from './probe.js';

const METHODS: readonly MappingMethod[] = ['upnp', 'natpmp', 'pcp'];
/** A lease long enough to outlive a session, short enough that a forgotten mapping goes away. */
const DEFAULT_LEASE_SECONDS = 3600;

/** One port and protocol from `7001` or `7001/udp`. */
function singlePort(spec: string): { protocol: 'tcp' | 'udp'; port: number } {
  const ranges = parsePortSpec(spec);
  const [range] = ranges;
  if (ranges.length !== 1 || !range || range.start !== range.end) {
    throw new PortholeError('E_PORT_SPEC', { detail: `"${spec}": map one port at a time (7001 or 7001/udp)` });
  }
  return { protocol: range.protocol, port: range.start };
}

function viaOf(value: unknown): MappingMethod | undefined {
  if (value === undefined) return undefined;
  if (!METHODS.includes(value as MappingMethod))
    throw new PortholeError('E_USAGE', { detail: `--via must be upnp, natpmp or pcp, not "${String(value)}"` });
  return value as MappingMethod;
}

function gatewayJson(gateway: GatewayInfo) {
  const service = gateway.upnp?.description?.services[0];
  return {
    address: gateway.address,
    interface: gateway.interface,
    internalAddress: gateway.internalAddress,
    protocols: gateway.protocols,
    externalIp: gateway.externalIp,
    ...(gateway.upnp
      ? {
          upnp: {
            location: gateway.upnp.location,
            server: gateway.upnp.server,
            friendlyName: gateway.upnp.description?.friendlyName,
            serviceType: service?.serviceType,
            controlUrl: service?.controlUrl,
            error: gateway.upnp.error,
          },
        }
      : {}),
    ...(gateway.natpmp ? { natpmp: gateway.natpmp } : {}),
    ...(gateway.pcp ? { pcp: gateway.pcp } : {}),
    ms: gateway.ms,
    warnings: gateway.warnings,
  };
}

function mappingJson(mapping: Mapping) {
  return {
    protocol: mapping.protocol,
    internalAddress: mapping.internalAddress,
    internalPort: mapping.internalPort,
    externalPort: mapping.externalPort,
    externalIp: mapping.externalIp,
    method: mapping.method,
    lifetime: mapping.lifetime,
    gateway: mapping.gateway,
    ...(mapping.skipped ? { skipped: mapping.skipped } : {}),
  };
}

function describeMapping(mapping: Mapping): string {
  const lifetime = mapping.lifetime === 0 ? 'permanent' : `${mapping.lifetime} s`;
  const skipped = mapping.skipped?.map((s) => `  ${s.port}: ${s.why}`) ?? [];
  return [
    `${mapping.externalIp}:${mapping.externalPort}/${mapping.protocol} -> ${mapping.internalAddress}:${mapping.internalPort} via ${mapping.method} (${lifetime}, gateway ${mapping.gateway})`,
    ...(skipped.length > 0 ? ['ports tried first:', ...skipped] : []),
  ].join('\n');
}

/** `porthole gateway`. */
export const gatewayCommand: CommandSpec = {
  name: 'gateway',
  summary: 'routers found and what they speak (UPnP IGD, NAT-PMP, PCP)',
  run: async ({ signal }) => {
    const { clientFor, discoverGateways } = await gatewayModule();
    const gateways = await discoverGateways({ signal });
    // The external address from UPnP when NAT-PMP did not give one.
    const withIp = await Promise.all(
      gateways.map(async (gateway) => {
        if (gateway.externalIp || !gateway.protocols.includes('upnp')) return gateway;
        const ip = await clientFor(gateway, 'upnp')
          ?.externalIp({ signal })
          .catch(() => undefined);
        return { ...gateway, externalIp: ip };
      }),
    );
    const usable = withIp.some((gateway) => gateway.protocols.length > 0);
    return {
      exitCode: usable ? 0 : 1,
      json: { gateways: withIp.map(gatewayJson) },
      human: () =>
        withIp.length === 0
          ? 'no default gateway: this host has no default route'
          : withIp
              .map((g) =>
                [
                  `gateway ${g.address} on ${g.interface || '?'} (this host ${g.internalAddress}), probed in ${g.ms} ms`,
                  `  speaks: ${g.protocols.join(', ') || 'none of UPnP IGD, NAT-PMP, PCP'}`,
                  `  external address: ${g.externalIp ?? 'unknown'}`,
                  ...(g.upnp
                    ? [
                        `  UPnP: ${g.upnp.location} ${g.upnp.description?.services[0]?.serviceType ?? g.upnp.error ?? ''}`,
                      ]
                    : []),
                ].join('\n'),
              )
              .join('\n'),
    };
  },
};

/** `porthole map`. */
export const mapCommand: CommandSpec = {
  name: 'map',
  args: '<port>',
  summary: 'make a router mapping for PORT[/PROTO]',
  options: [
    ['--external <port|range>', 'external port, or a range to take the first free port of (e.g. 20570-20575)'],
    ['--lease <seconds>', `mapping lifetime (default ${DEFAULT_LEASE_SECONDS}; 0 asks UPnP for permanent)`],
    ['--via <method>', 'upnp, natpmp or pcp (default: the best the router speaks)'],
    ['--keep', 'renew until interrupted, re-make after a router restart, then remove'],
  ],
  run: async ({ args, options, output, env, signal }) => {
    const { discoverPrimaryGateway, enoughToMap, keepMapping, mappingStatePath, mapWithBest, recordMapping } =
      await gatewayModule();
    const { protocol, port } = singlePort(args[0] ?? '');
    const external = typeof options.external === 'string' ? parsePortRangeText(options.external) : undefined;
    const lifetimeSeconds = positiveInteger(options.lease, '--lease', DEFAULT_LEASE_SECONDS, 604_800);
    const via = viaOf(options.via);
    const gateway = await discoverPrimaryGateway({ signal, enough: enoughToMap(via) });
    const request = {
      protocol,
      internalPort: port,
      ...(external ? { external: external.start === external.end ? external.start : external } : {}),
      lifetimeSeconds,
      description: `porthole ${port}/${protocol}`,
    };
    const { mapping, client, tried } = await mapWithBest(gateway, request, { signal, ...(via ? { via } : {}) });
    for (const line of tried) output.debug(`fell back: ${line}`);
    if (!options.keep) {
      recordMapping(mappingStatePath(env), mapping);
      return { exitCode: 0, json: mappingJson(mapping), human: () => describeMapping(mapping) };
    }
    output.notice(`${describeMapping(mapping)}\nkeeping it (renewing at half its lifetime); Ctrl-C removes it`);
    const events: unknown[] = [];
    const last = await keepMapping(client, mapping, {
      signal,
      onEvent: (event) => {
        events.push({ at: new Date().toISOString(), ...event });
        const text =
          'mapping' in event
            ? `${event.kind}: ${event.mapping.externalIp}:${event.mapping.externalPort}`
            : `${event.kind}: ${event.error}`;
        output.notice('evidence' in event ? `${text} (${event.evidence})` : text);
      },
    });
    return {
      exitCode: 0,
      json: { ...mappingJson(last), kept: true, events },
      human: () => `removed ${last.externalIp}:${last.externalPort}/${last.protocol}`,
    };
  },
};

/** `porthole unmap`. */
export const unmapCommand: CommandSpec = {
  name: 'unmap',
  args: '<port>',
  summary: 'remove the router mappings of PORT[/PROTO] for this host',
  run: async ({ args, env, signal }) => {
    const { clientFor, discoverPrimaryGateway, forgetMappings, mappingStatePath, readMappingState } =
      await gatewayModule();
    const { protocol, port } = singlePort(args[0] ?? '');
    const path = mappingStatePath(env);
    // Wait for every protocol (up to discovery's 1 s), not 100 ms after the first: without UPnP's
    // list an unrecorded mapping (a killed `map --keep`) is not found, and a busy miniupnpd's SSDP
    // answer came after the short grace in the lab (scripts/crash-safety.ts).
    const gateway = await discoverPrimaryGateway({ signal, graceMs: 1000 });
    const removed: Mapping[] = [];
    const mine = (m: { protocol: string; internalPort: number; internalAddress: string }) =>
      m.protocol === protocol && m.internalPort === port && m.internalAddress === gateway.internalAddress;
    const stale: { mapping: Mapping; why: string }[] = [];
    for (const stored of readMappingState(path).filter((m) => mine(m) && m.gateway === gateway.address)) {
      const client = clientFor(gateway, stored.method);
      try {
        if (!client) throw new Error(`the gateway no longer speaks ${stored.method}`);
        await client.unmap(stored, { signal });
        removed.push(stored);
      } catch (error) {
        // The router forgot it (restart, expiry) or refuses a nonce it no longer knows: it is gone.
        stale.push({ mapping: stored, why: (error as Error).message });
      }
    }
    forgetMappings(path, (m) => mine(m) && m.gateway === gateway.address);
    // Mappings made by other tools: the router's own list (UPnP), and NAT-PMP's delete-by-port.
    const upnp = clientFor(gateway, 'upnp');
    if (upnp) {
      for (const entry of (await upnp.list({ signal })).filter(mine)) {
        if (removed.some((m) => m.externalPort === entry.externalPort && m.protocol === entry.protocol)) continue;
        const mapping = {
          method: 'upnp' as const,
          gateway: gateway.address,
          ...entry,
          externalIp: '',
          lifetime: entry.lifetime,
        };
        await upnp.unmap(mapping, { signal });
        removed.push(mapping);
      }
    }
    return {
      exitCode: 0,
      json: { removed: removed.map(mappingJson), stale: stale.map((s) => ({ ...mappingJson(s.mapping), why: s.why })) },
      human: () =>
        removed.length > 0
          ? removed
              .map(
                (m) =>
                  `removed external ${m.externalPort}/${m.protocol} -> ${m.internalAddress}:${m.internalPort} (${m.method})`,
              )
              .join('\n')
          : `no mapping of ${port}/${protocol} to this host (${gateway.internalAddress}) was found${stale.length > 0 ? ` (forgot ${stale.length} the router no longer had)` : ''}`,
    };
  },
};

/** `porthole mappings`. */
export const mappingsCommand: CommandSpec = {
  name: 'mappings',
  summary: 'list router mappings (UPnP lists all; NAT-PMP and PCP ones porthole made)',
  run: async ({ env, signal }) => {
    const { clientFor, clientsFor, discoverPrimaryGateway, mappingStatePath, readMappingState } = await gatewayModule();
    const gateway = await discoverPrimaryGateway({ signal });
    const fromRouter = (await clientFor(gateway, 'upnp')?.list({ signal })) ?? [];
    const stored = readMappingState(mappingStatePath(env)).filter((m) => m.gateway === gateway.address);
    const mappings = [
      ...fromRouter.map((entry) => ({
        ...entry,
        source: 'router (UPnP)',
        mine: entry.internalAddress === gateway.internalAddress,
      })),
      ...stored
        .filter((m) => !fromRouter.some((e) => e.externalPort === m.externalPort && e.protocol === m.protocol))
        .map((m) => ({
          ...mappingJson(m),
          description: 'made by porthole',
          source: `porthole (${m.method})`,
          mine: true,
        })),
    ];
    return {
      exitCode: 0,
      json: { gateway: gateway.address, protocols: gateway.protocols, mappings },
      human: () =>
        mappings.length === 0
          ? `no mappings on ${gateway.address}${clientsFor(gateway).length === 0 ? ' (it speaks no mapping protocol)' : ''}`
          : mappings
              .map(
                (m) =>
                  `${String(m.externalPort).padStart(5)}/${m.protocol} -> ${m.internalAddress}:${m.internalPort}  ${m.description}  [${m.source}]`,
              )
              .join('\n'),
    };
  },
};
