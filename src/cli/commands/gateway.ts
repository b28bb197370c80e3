/**
 * `porthole gateway`, `map`, `unmap` and `mappings`: router port mapping from the command line,
 * as frames over the library (listGateways, mapPort, keepPortMapped, removePortMappings,
 * listMappings); the gateway module (an XML parser among it) loads only when one runs.
 */
import { positiveInteger } from '../../config/index.js';
import { PortholeError } from '../../errors/index.js';
import type { GatewayInfo, KeeperEvent, Mapping, MappingMethod } from '../../gateway/index.js';
import { classifyAddress, isIpLiteral, parsePortRangeText, parsePortSpec } from '../../net/index.js';
import type { CommandSpec } from '../commandSpec.js';

/** The library (and with it the gateway module) loads only when a gateway command runs. */
const library = () => import('../../library/index.js');

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
    ...(mapping.asked ? { asked: mapping.asked } : {}),
  };
}

/** `--outer`: the router in front's address, or true to find it. */
function outerOption(value: unknown): true | string | undefined {
  if (value === undefined || value === false) return undefined;
  return value === true ? true : String(value);
}

/** What users connect to and why it may differ from what was asked (another port, a shorter lease, a private address). */
function grantedNotes(mapping: Mapping & { outer?: Mapping }): string[] {
  const reach = mapping.outer ?? mapping;
  const notes: string[] = [];
  if (mapping.outer)
    notes.push(
      `double NAT, mapped on both routers: ${reach.externalIp}:${reach.externalPort}/${reach.protocol} -> ${reach.internalAddress}:${reach.internalPort} (router in front ${reach.gateway}, via ${reach.method}) -> ${mapping.internalAddress}:${mapping.internalPort}`,
    );
  const asked = mapping.skipped?.[0]?.port;
  if (asked !== undefined && reach.externalPort !== asked)
    notes.push(
      `the router gave external port ${reach.externalPort}, not ${asked}: users must use ${reach.externalPort}`,
    );
  for (const m of mapping.outer ? [mapping, mapping.outer] : [mapping])
    if (m.asked && m.asked.lifetime !== m.lifetime)
      notes.push(`${m.gateway} granted a lease of ${m.lifetime} s, not the ${m.asked.lifetime} s asked`);
  const kind =
    reach.externalIp && reach.family !== 6 && isIpLiteral(reach.externalIp)
      ? classifyAddress(reach.externalIp)
      : undefined;
  const behind = kind === 'private' || kind === 'cgnat';
  if (behind)
    notes.push(
      `${reach.externalIp} is not a public address (${kind === 'cgnat' ? 'carrier-grade NAT' : 'another router stands in front'}): nothing from the internet reaches this mapping; do not give it to users (\`porthole doctor\` names the way on)`,
    );
  else if (reach.externalIp && reach.family !== 6)
    notes.push(
      `give your users: ${reach.externalIp}:${reach.externalPort}/${reach.protocol} (the router's answer, not yet proven from outside: \`porthole doctor ${mapping.internalPort}/${mapping.protocol}\` proves it)`,
    );
  return notes;
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
  run: async ({ env, signal }) => {
    // What the router speaks, all of it: every protocol's answer, not just the first.
    const withIp = await (await library()).listGateways({ env, signal });
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
    [
      '--outer [address]',
      "double NAT: map on the router in front too (its address; without one, found from your router's WAN address)",
    ],
  ],
  run: async ({ args, options, output, env, signal }) => {
    const { keepPortMapped, mapPort } = await library();
    const outer = outerOption(options.outer);
    const family = familyOption(options.family);
    const { protocol, port } = singlePort(args[0] ?? '');
    const external = externalOption(options.external);
    const lifetimeSeconds = positiveInteger(options.lease, '--lease', DEFAULT_LEASE_SECONDS, 604_800);
    const via = viaOf(options.via);
    const asked = {
      env,
      signal,
      port,
      protocol,
      lifetimeSeconds,
      ...(external !== undefined ? { externalPort: external } : {}),
      ...(via ? { via } : {}),
      ...(family === 6 ? { family } : {}),
      ...(outer !== undefined ? { outer } : {}),
    };
    if (outer !== undefined && family === 6)
      throw new PortholeError('E_USAGE', { detail: '--outer maps IPv4 through two NATs; an IPv6 pinhole needs none' });
    if (!options.keep) {
      const mapping = await mapPort(asked);
      for (const line of mapping.tried ?? []) output.debug(`fell back: ${line}`);
      return {
        exitCode: 0,
        json: { ...mappingJson(mapping), ...(mapping.outer ? { outer: mappingJson(mapping.outer) } : {}) },
        human: () => [describeMapping(mapping), ...grantedNotes(mapping)].join('\n'),
      };
    }
    const events: unknown[] = [];
    const keeper = await keepPortMapped({
      ...asked,
      onProgress: (event) => {
        if (event.kind === 'step' || event.kind === 'finding' || event.kind === 'change' || event.kind === 'road')
          return;
        events.push({ at: new Date().toISOString(), ...event });
        const keeperEvent = event as KeeperEvent;
        const text =
          'mapping' in keeperEvent
            ? `${keeperEvent.kind}: ${keeperEvent.mapping.externalIp}:${keeperEvent.mapping.externalPort}`
            : `${keeperEvent.kind}: ${'error' in keeperEvent ? keeperEvent.error : ''}`;
        output.notice('evidence' in keeperEvent ? `${text} (${keeperEvent.evidence})` : text);
      },
    });
    for (const line of keeper.mapping.tried ?? []) output.debug(`fell back: ${line}`);
    output.notice(
      [
        describeMapping(keeper.mapping),
        ...grantedNotes(keeper.mapping),
        `keeping it (renewing before the lease the router granted ends); Ctrl-C removes it${keeper.mapping.outer ? ' from both routers' : ''}`,
      ].join('\n'),
    );
    const removed = await keeper.closed.then(
      () => true,
      () => false,
    );
    const last = keeper.mapping;
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
    const { removePortMappings } = await library();
    const { protocol, port } = singlePort(args[0] ?? '');
    const byExternal = options.external === true;
    const removal = await removePortMappings({
      env,
      signal,
      protocol,
      port,
      family: familyOption(options.family),
      ...(byExternal ? { by: 'external' as const } : {}),
    });
    if (removal.family === 6) {
      const closed = removal;
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
              ? [`no IPv6 pinhole porthole opened for ${port}/${protocol} is recorded on ${closed.gateway}`]
              : []),
          ].join('\n'),
      };
    }
    const { gateway, ...report } = removal;
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
    const { gateway, mappings, changes } = await (await library()).listMappings({ env, signal });
    const lease = (m: (typeof mappings)[number]) =>
      m.expiresAt ? `lease to ${m.expiresAt}` : m.lifetime === 0 ? 'permanent' : `lease ${m.lifetime} s`;
    // A router that answered no mapping protocol shows nothing: that is not "no mappings".
    const silent = gateway.protocols.length === 0;
    return {
      exitCode: silent ? 1 : 0,
      json: {
        gateway: gateway.address,
        protocols: gateway.protocols,
        internalAddress: gateway.internalAddress,
        listed: !silent,
        mappings,
        changes,
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
                    `${m.porthole ? '*' : ' '}${m.mine ? '>' : ' '} ${String(m.externalPort).padStart(5)}/${m.protocol} -> ${m.internalAddress}:${m.internalPort}  ${m.description}  [${m.source}; ${m.live === false ? `STALE: ${m.note ?? 'gone'}` : lease(m)}${m.lost ? `; LOST by the router (${m.lost}), made again by this check` : ''}]`,
                ),
                ...changes.map((c) => `Changed on the router: ${c.what} (${c.why}).`),
              ].join('\n'),
    };
  },
};
