/** `porthole gateway`, `map`, `unmap` and `mappings`: router port mapping from the command line. */
import { randomBytes } from 'node:crypto';
import { PortholeError } from '../../errors/index.js';
import type { GatewayInfo, Mapping, MappingMethod } from '../../gateway/index.js';
import type { MappingRequestRecord } from '../../library/leftovers.js';

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

/** `--external`: a port, a range, or `any`. */
export function externalOption(value: unknown): number | { start: number; end: number } | 'any' | undefined {
  if (typeof value !== 'string') return undefined;
  if (value === 'any') return 'any';
  const range = parsePortRangeText(value);
  return range.start === range.end ? range.start : range;
}

function viaOf(value: unknown): MappingMethod | undefined {
  if (value === undefined) return undefined;
  if (!METHODS.includes(value as MappingMethod))
    throw new PortholeError('E_USAGE', { detail: `--via must be upnp, natpmp or pcp, not "${String(value)}"` });
  return value as MappingMethod;
}

/** `--family ipv4|ipv6` (also 4 or 6); IPv4 when not given. */
export function familyOption(value: unknown): 4 | 6 {
  if (value === undefined || value === 'ipv4' || value === '4') return 4;
  if (value === 'ipv6' || value === '6') return 6;
  throw new PortholeError('E_USAGE', { detail: `--family must be ipv4 or ipv6, not "${String(value)}"` });
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
    family: mapping.family ?? 4,
    ...(mapping.pinholeId !== undefined ? { pinholeId: mapping.pinholeId } : {}),
    ...(mapping.skipped ? { skipped: mapping.skipped } : {}),
  };
}

function describeMapping(mapping: Mapping): string {
  const lifetime = mapping.lifetime === 0 ? 'permanent' : `${mapping.lifetime} s`;
  const skipped = mapping.skipped?.map((s) => `  ${s.port}: ${s.why}`) ?? [];
  if (mapping.family === 6)
    return `IPv6 pinhole open: [${mapping.internalAddress}]:${mapping.internalPort}/${mapping.protocol} reachable from the internet via ${mapping.method === 'upnp' ? 'IGDv2' : 'PCP'} (${lifetime}, gateway ${mapping.gateway}); give users [${mapping.internalAddress}]:${mapping.internalPort}`;
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
    // What the router speaks, all of it: wait for every protocol (up to 1 s), not 100 ms after the first.
    const gateways = await discoverGateways({ signal, graceMs: 1000 });
    // The external address from UPnP when NAT-PMP did not give one.
    const withIp = await Promise.all(
      gateways.map(async (gateway) => {
        if (gateway.externalIp || !gateway.protocols.includes('upnp')) return gateway;
        const ip = await clientFor(gateway, 'upnp')
          ?.externalIp({ signal })
          .catch(() => undefined);
        // Some routers answer an empty string rather than an error when they have no address.
        return { ...gateway, externalIp: ip || undefined };
      }),
    );
    // Usable: it speaks a mapping protocol and has an external address to map on.
    const usable = withIp.some((gateway) => gateway.protocols.length > 0 && gateway.externalIp);
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
                  `  external address: ${
                    g.externalIp ??
                    (g.protocols.length > 0
                      ? 'none: the router has no public address (probably carrier-grade NAT, or its WAN is down); run `porthole nat --stun HOST` or `porthole doctor --checker URL` to confirm'
                      : 'unknown')
                  }`,
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
    [
      '--external <port|range|any>',
      'external port, a range to take the first free port of (e.g. 20570-20575), or any (for a port the router refuses, e.g. 80)',
    ],
    ['--lease <seconds>', `mapping lifetime (default ${DEFAULT_LEASE_SECONDS}; 0 asks UPnP for permanent)`],
    ['--via <method>', 'upnp, natpmp or pcp (default: the best the router speaks)'],
    ['--keep', 'renew until interrupted, re-make after a router restart, then remove'],
    [
      '--family <family>',
      "ipv4 (a port mapping, default) or ipv6 (a pinhole in the router's IPv6 firewall: PCP, then IGDv2)",
    ],
  ],
  run: async ({ args, options, output, env, signal }) => {
    const {
      discoverPrimaryGateway,
      enoughToMap,
      keepMapping,
      mappingStatePath,
      mapPinhole,
      mapWithBest,
      recordMapping,
    } = await gatewayModule();
    const family = familyOption(options.family);
    const { protocol, port } = singlePort(args[0] ?? '');
    const external = externalOption(options.external);
    const lifetimeSeconds = positiveInteger(options.lease, '--lease', DEFAULT_LEASE_SECONDS, 604_800);
    const via = viaOf(options.via);
    const request = {
      protocol,
      internalPort: port,
      ...(external !== undefined ? { external } : {}),
      lifetimeSeconds,
      description: `porthole ${port}/${protocol}`,
    };
    // With --keep, recorded with this process's pid before the router is asked: a SIGKILL at any
    // moment leaves a record `porthole cleanup` acts on (scripts/crash-safety.ts found the gap after).
    const nonce = options.keep && family === 6 ? randomBytes(12).toString('hex') : undefined;
    const ask = (beforeAsking: (record: MappingRequestRecord) => void) =>
      family === 6
        ? mapPinhole(nonce ? { ...request, nonce } : request, {
            signal,
            ...(via ? { via } : {}),
            // A pinhole cannot be listed: recorded with the PCP nonce it is asked with, cleanup can delete it.
            beforeAsking: (six) =>
              beforeAsking({
                gateway: six.address,
                family: 6,
                protocol,
                internalPort: port,
                ...(nonce ? { nonce } : {}),
              }),
          })
        : discoverPrimaryGateway({ signal, enough: enoughToMap(via, request) }).then((gateway) => {
            beforeAsking({ gateway: gateway.address, protocol, internalPort: port });
            return mapWithBest(gateway, request, { signal, ...(via ? { via } : {}) });
          });
    const { askRecorded } = await import('../../library/leftovers.js');
    const { mapping, client, tried, owned } = options.keep
      ? await askRecorded(ask, env)
      : { ...(await ask(() => {})), owned: undefined };
    for (const line of tried) output.debug(`fell back: ${line}`);
    if (!options.keep) {
      recordMapping(mappingStatePath(env), mapping);
      return { exitCode: 0, json: mappingJson(mapping), human: () => describeMapping(mapping) };
    }
    output.notice(`${describeMapping(mapping)}\nkeeping it (renewing at half its lifetime); Ctrl-C removes it`);
    const events: unknown[] = [];
    let removed = false;
    const last = await keepMapping(client, mapping, {
      signal,
      onEvent: (event) => {
        owned?.follow(event);
        if (event.kind === 'removed') removed = true;
        events.push({ at: new Date().toISOString(), ...event });
        const text =
          'mapping' in event
            ? `${event.kind}: ${event.mapping.externalIp}:${event.mapping.externalPort}`
            : `${event.kind}: ${event.error}`;
        output.notice('evidence' in event ? `${text} (${event.evidence})` : text);
      },
    });
    owned?.done(removed);
    return {
      exitCode: removed ? 0 : 1,
      json: { ...mappingJson(last), kept: true, removed, events },
      human: () =>
        removed
          ? `removed ${last.externalIp}:${last.externalPort}/${last.protocol}`
          : `NOT removed: ${last.externalIp}:${last.externalPort}/${last.protocol} stays until its lease ends; \`porthole cleanup\` tries again`,
    };
  },
};

/** `porthole unmap`. */
export const unmapCommand: CommandSpec = {
  name: 'unmap',
  args: '<port>',
  summary: 'remove the router mappings of PORT[/PROTO] for this host (by internal port, or --external)',
  options: [
    ['--external', "PORT is the external port (the router's side), whatever internal port it maps to"],
    ['--family <family>', 'ipv4 (default) or ipv6 (close the IPv6 pinholes porthole opened for PORT)'],
  ],
  run: async ({ args, options, env, signal }) => {
    const { closePinholes, discoverPinholeGateway, discoverPrimaryGateway, mappingStatePath, removeMappings } =
      await gatewayModule();
    const { protocol, port } = singlePort(args[0] ?? '');
    if (familyOption(options.family) === 6) {
      const gateway6 = await discoverPinholeGateway({ signal });
      const closed = await closePinholes(gateway6, {
        protocol,
        internalPort: port,
        statePath: mappingStatePath(env),
        signal,
      });
      return {
        exitCode: closed.failed.length > 0 ? 1 : 0,
        json: {
          removed: closed.removed.map(mappingJson),
          stale: [],
          failed: closed.failed.map((s) => ({ ...mappingJson(s.mapping), why: s.why })),
        },
        human: () =>
          [
            ...closed.removed.map(
              (m) => `closed IPv6 pinhole [${m.internalAddress}]:${m.internalPort}/${m.protocol} (${m.method})`,
            ),
            ...closed.failed.map(
              (s) =>
                `NOT closed: [${s.mapping.internalAddress}]:${s.mapping.internalPort}/${s.mapping.protocol} (${s.why}); still recorded, run \`porthole unmap ${port}/${protocol} --family ipv6\` again`,
            ),
            ...(closed.removed.length + closed.failed.length === 0
              ? [`no IPv6 pinhole porthole opened for ${port}/${protocol} is recorded on ${gateway6.address}`]
              : []),
          ].join('\n'),
      };
    }
    // Every protocol's answer (up to 1 s), not 100 ms after the first: a busy router's late SSDP
    // answer would leave its UPnP list out (found in the crash-safety runs, scripts/crash-safety.ts).
    const gateway = await discoverPrimaryGateway({ signal, graceMs: 1000 });
    const byExternal = options.external === true;
    const report = await removeMappings(gateway, {
      protocol,
      ...(byExternal ? { externalPort: port } : { internalPort: port }),
      statePath: mappingStatePath(env),
      signal,
    });
    const which = byExternal ? `external port ${port}/${protocol}` : `${port}/${protocol}`;
    // A router that answered no mapping protocol could not be asked: "nothing found" is not proven.
    const silent = gateway.protocols.length === 0;
    return {
      exitCode: report.failed.length > 0 || silent ? 1 : 0,
      json: {
        removed: report.removed.map(mappingJson),
        stale: report.stale.map((s) => ({ ...mappingJson(s.mapping), why: s.why })),
        failed: report.failed.map((s) => ({ ...mappingJson(s.mapping), why: s.why })),
      },
      human: () =>
        [
          ...report.removed.map(
            (m) =>
              `removed external ${m.externalPort}/${m.protocol} -> ${m.internalAddress}:${m.internalPort} (${m.method})`,
          ),
          ...report.stale.map(
            (s) => `forgot external ${s.mapping.externalPort}/${s.mapping.protocol}: the router no longer had it`,
          ),
          ...report.failed.map(
            (s) =>
              `NOT removed: external ${s.mapping.externalPort}/${s.mapping.protocol} (${s.why}); still recorded, run \`porthole unmap ${which}\` again`,
          ),
          ...(silent
            ? [
                `the router ${gateway.address} answered no UPnP IGD, NAT-PMP or PCP request: nothing could be removed or checked`,
              ]
            : []),
          ...(!silent && report.removed.length + report.stale.length + report.failed.length === 0
            ? [
                `no mapping of ${which} to this host (${gateway.internalAddress}) was found${byExternal ? '' : ` (to remove by the router's side, \`porthole unmap --external ${port}/${protocol}\`)`}`,
              ]
            : []),
        ].join('\n'),
    };
  },
};

/** `porthole mappings`. */
export const mappingsCommand: CommandSpec = {
  name: 'mappings',
  summary: 'list router mappings (UPnP lists all; NAT-PMP and PCP ones porthole made, confirmed by the router)',
  run: async ({ env, signal }) => {
    const { clientsFor, discoverPrimaryGateway, mappingStatePath, seeMappings } = await gatewayModule();
    // Every protocol's answer (up to 1 s), not 100 ms after the first: a busy router's late SSDP
    // answer would leave its UPnP list out (found in the crash-safety runs, scripts/crash-safety.ts).
    const gateway = await discoverPrimaryGateway({ signal, graceMs: 1000 });
    const mappings = await seeMappings(gateway, { statePath: mappingStatePath(env), confirm: true, signal });
    const lease = (m: (typeof mappings)[number]) =>
      m.expiresAt ? `lease to ${m.expiresAt}` : m.lifetime === 0 ? 'permanent' : `lease ${m.lifetime} s`;
    // A router that answered no mapping protocol shows nothing: that is not "no mappings".
    const silent = clientsFor(gateway).length === 0;
    return {
      exitCode: silent ? 1 : 0,
      json: {
        gateway: gateway.address,
        protocols: gateway.protocols,
        internalAddress: gateway.internalAddress,
        listed: !silent,
        mappings,
      },
      human: () =>
        silent
          ? `the router ${gateway.address} answered no UPnP IGD, NAT-PMP or PCP request: its mappings cannot be seen from here${mappings.length > 0 ? ` (porthole's records, unconfirmed: ${mappings.map((m) => `${m.externalPort}/${m.protocol}`).join(', ')})` : ''}`
          : mappings.length === 0
            ? `no mappings on ${gateway.address}`
            : [
                `mappings on ${gateway.address} (this host ${gateway.internalAddress}; * porthole's, > this host's):`,
                ...mappings.map(
                  (m) =>
                    `${m.porthole ? '*' : ' '}${m.mine ? '>' : ' '} ${String(m.externalPort).padStart(5)}/${m.protocol} -> ${m.internalAddress}:${m.internalPort}  ${m.description}  [${m.source}; ${m.live === false ? `STALE: ${m.note ?? 'gone'}` : lease(m)}]`,
                ),
              ].join('\n'),
    };
  },
};
