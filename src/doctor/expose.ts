/**
 * `porthole expose`: make the manifest's exposed ports reachable and prove it. Opens the host
 * firewall when asked, maps each exposed entry on the router (a range takes the first free
 * external port of the range), then runs the doctor to verify from outside. With `keep`, the
 * mappings are renewed and re-made after a router restart, the path is re-verified on an
 * interval, and on stop everything made is removed: mappings first, then firewall rules.
 */
import { sleep } from '../deadline/index.js';
import type { KeeperEvent, Mapping, MappingClient, MappingMethod } from '../gateway/index.js';
import type { OwnedMapping } from '../library/leftovers.js';
import type { ManifestEntry } from '../manifest/types.js';
import type { DoctorOptions } from './facts.js';
import { type DoctorReport, runDoctor } from './index.js';
import {
  closeRelayRoads,
  DIRECT_ROAD_CLOSED,
  openRelayRoads,
  type RelayRoad,
  type RelaySettings,
  relayFindings,
} from './relayRoad.js';

/** What expose is asked. */
export interface ExposeOptions extends DoctorOptions {
  /** Open the host firewall with this backend (only nftables applies). */
  readonly firewall?: 'nftables';
  readonly keep: boolean;
  /** Lifetime asked for each mapping, seconds. */
  readonly lifetimeSeconds: number;
  /** With keep: re-verify this often, seconds. */
  readonly verifyEverySeconds: number;
  /** Map with this protocol only. */
  readonly via?: MappingMethod;
  /** Status lines while keeping (renewals, restarts, re-verifications). */
  readonly onStatus?: (status: Record<string, unknown>) => void;
  /** A relay for when the direct road cannot work (or with `only`, instead of it). */
  readonly relay?: RelaySettings;
  /**
   * IPv4 only, IPv6 only (a pinhole in the router's IPv6 firewall), or `auto` (default): IPv4 first,
   * and IPv6 when the IPv4 road cannot work here (carrier NAT, most often) and this host has a
   * global IPv6 address.
   */
  readonly family?: 'ipv4' | 'ipv6' | 'auto';
  /** The checker's IPv6 URL, when the checker URL does not reach it over IPv6. */
  readonly checker6?: URL;
}

/** What expose did. */
export interface ExposeResult extends DoctorReport {
  readonly mappings: readonly Mapping[];
  /** Mappings whose external port differs from the port asked for (taken, or refused), said plainly. */
  readonly portChanges: readonly { readonly asked: number; readonly got: number; readonly protocol: string }[];
  /** What could not be removed on the way out (with why): still on the router until its lease ends. */
  readonly leftBehind: readonly { readonly mapping: Mapping; readonly why: string }[];
  readonly firewall: { readonly applied: boolean; readonly removed: boolean } | null;
  readonly kept: boolean;
  readonly ms: number;
  /** `direct` (router mappings) or `relay` (tunnels through the relay). */
  readonly mode: 'direct' | 'relay';
  /** The tunnels, in relay mode: the address to give users for each port, and its proof. */
  readonly relays: readonly {
    readonly port: number;
    readonly publicAddress: string;
    readonly verified: boolean | null;
  }[];
  /** Why the direct road was left for the relay (the causes the doctor found, or the mapping error). */
  readonly relayBecause?: string;
  /** The address family of the road taken (6: an IPv6 pinhole, the address in brackets). */
  readonly family: 4 | 6;
  /** Why IPv4 was left for IPv6. */
  readonly ipv6Because?: string;
}

/** One mapping request per exposed entry and transport; a range asks for its first free port. */
function requestsOf(entries: readonly ManifestEntry[]) {
  return entries
    .filter((entry) => entry.direction === 'inbound' && entry.expose)
    .flatMap((entry) =>
      entry.ports.map((range) => ({
        protocol: range.protocol,
        internalPort: range.start,
        ...(range.end > range.start ? { external: { start: range.start, end: range.end } } : {}),
        description: `porthole ${entry.name}`,
      })),
    );
}

/** The TCP ports expose would map: every exposed inbound entry's ports. */
function exposedTcpPorts(options: ExposeOptions): number[] {
  return requestsOf(options.manifest.entries)
    .filter((request) => request.protocol === 'tcp')
    .flatMap((request) =>
      request.external && typeof request.external === 'object' ? [request.internalPort] : [request.internalPort],
    );
}

/**
 * Runs expose; with `keep`, until the signal aborts. With a relay, the direct road is tried first
 * (unless `relay.only`), and left for the relay when mapping fails or the doctor's causes say no
 * direct road can work here.
 */
export async function runExpose(options: ExposeOptions, source: string): Promise<ExposeResult> {
  const relay = options.relay;
  if (relay?.only) return runRelay(options, relay, 'asked for (--relay-only)', performance.now());
  if (options.family === 'ipv6') return runIpv6(options, 'asked for (--family ipv6)', performance.now());
  const ipv6Possible = options.family !== 'ipv4' && (await hasGlobalIpv6());
  if (!relay && !ipv6Possible) return runDirect(options, source);
  const started = performance.now();
  let direct: (ExposeResult & { leftBecause?: string }) | undefined;
  let because: string;
  // After the first check from outside, the direct road is kept (and with --keep, kept up) unless the
  // doctor's causes say no direct road can work here: then its mappings go and another road is tried.
  const leaveIf = (report: DoctorReport): string | undefined => {
    const closed = report.findings.filter((f) => f.status === 'fail' && f.cause && DIRECT_ROAD_CLOSED.has(f.cause));
    return report.reachable || closed.length === 0
      ? undefined
      : `the direct IPv4 road cannot work here (${[...new Set(closed.map((f) => f.cause))].join(', ')})`;
  };
  try {
    direct = await runDirect(options, source, leaveIf);
    if (direct.leftBecause === undefined) return direct;
    because = direct.leftBecause;
  } catch (error) {
    if (options.signal?.aborted) throw error;
    because = `IPv4 mapping failed: ${(error as Error).message}`;
  }
  if (ipv6Possible) {
    try {
      const six = await runIpv6(options, because, started, direct?.findings ?? []);
      if (six.reachable || !relay) return six;
    } catch (error) {
      if (options.signal?.aborted || !relay) throw error;
      because = `${because}; IPv6: ${(error as Error).message}`;
    }
  }
  if (relay) return runRelay(options, relay, because, started, direct?.findings ?? []);
  if (direct) return direct;
  throw new Error(because);
}

/** Whether this host has a global IPv6 address: the IPv6 road is possible only then. */
async function hasGlobalIpv6(): Promise<boolean> {
  const { listInterfaces } = await import('../net/localNetwork.js');
  // Documentation addresses (2001:db8::/32) count: they never appear on a real network, and labs use them.
  return listInterfaces().some((iface) =>
    iface.addresses.some((a) => a.family === 6 && (a.class === 'public' || a.class === 'documentation')),
  );
}

/**
 * The IPv6 road: a pinhole per exposed port in the router's IPv6 firewall (PCP, then IGDv2),
 * proven from outside over IPv6 (the checker's connection seen here). The address to give users is
 * this host's own global address, in brackets.
 */
async function runIpv6(
  options: ExposeOptions,
  because: string,
  started: number,
  ipv4Findings: DoctorReport['findings'] = [],
): Promise<ExposeResult> {
  const gateway = await import('../gateway/index.js');
  const { trackMappingRequest, trackOwnedMapping } = await import('../library/leftovers.js');
  const { randomBytes } = await import('node:crypto');
  const made: { mapping: Mapping; client: MappingClient; owned: OwnedMapping }[] = [];
  const signalOptions = options.signal ? { signal: options.signal } : {};
  try {
    for (const request of requestsOf(options.manifest.entries)) {
      // Recorded with this process's pid before the router is asked, with the PCP nonce it is asked
      // with (a pinhole cannot be listed, only deleted by its nonce): a SIGKILL at any moment leaves
      // a record `porthole cleanup` acts on (before, a killed expose left its pinholes open for good;
      // then one killed between the router's answer and the record, found by scripts/crash-safety.ts).
      const nonce = randomBytes(12).toString('hex');
      let asked: ReturnType<typeof trackMappingRequest> | undefined;
      const { mapping, client } = await gateway
        .mapPinhole(
          { ...request, external: undefined, lifetimeSeconds: options.lifetimeSeconds, nonce },
          {
            ...signalOptions,
            ...(options.via && options.via !== 'natpmp' ? { via: options.via } : {}),
            beforeAsking: (six) => {
              asked ??= trackMappingRequest({
                gateway: six.address,
                family: 6,
                protocol: request.protocol,
                internalPort: request.internalPort,
                nonce,
              });
            },
          },
        )
        .catch((error: unknown) => {
          asked?.abandon();
          throw error;
        });
      const owned: OwnedMapping = asked ? asked.made(mapping) : trackOwnedMapping(mapping);
      made.push({ mapping, client, owned });
      if (options.statePath) gateway.recordMapping(options.statePath, mapping);
    }
  } catch (error) {
    for (const { mapping, client, owned } of made)
      await client.unmap(mapping).then(
        () => owned.done(true),
        () => undefined,
      );
    throw error;
  }
  const address = made[0]?.mapping.internalAddress;
  const findings = [...ipv4Findings.filter((f) => f.status !== 'fail'), ...(await proveIpv6(options, made))];
  const reachable =
    made.length > 0 && findings.filter((f) => f.id.startsWith('outside-in:')).every((f) => f.status === 'ok');
  const result = (kept: boolean, mappings: readonly Mapping[]): ExposeResult => ({
    reachable,
    publicAddress: address ? `[${address}]` : null,
    lanAddress: address ?? null,
    findings,
    mappings,
    portChanges: [],
    leftBehind: [],
    firewall: null,
    kept,
    ms: Math.round(performance.now() - started),
    mode: 'direct',
    relays: [],
    family: 6,
    ipv6Because: because,
  });
  if (!options.keep) {
    // Without --keep the pinholes stay by design (recorded in the state file): no longer this process's.
    for (const { owned } of made) owned.done(true);
    return result(
      false,
      made.map((m) => m.mapping),
    );
  }
  options.onStatus?.({
    at: new Date().toISOString(),
    kind: 'verified',
    reachable,
    family: 6,
    give: reachable ? made.map(({ mapping }) => `[${mapping.internalAddress}]:${mapping.internalPort}`) : [],
  });
  const kept = await Promise.all(
    made.map(async ({ mapping, client, owned }) => {
      let removed = false;
      const last = await gateway.keepMapping(client, mapping, {
        ...signalOptions,
        onEvent: (event) => {
          owned.follow(event);
          if (event.kind === 'removed') removed = true;
          options.onStatus?.({ at: new Date().toISOString(), family: 6, ...event });
        },
      });
      owned.done(removed);
      return last;
    }),
  );
  if (options.statePath) {
    const statePath = options.statePath;
    gateway.forgetMappings(statePath, (m) => kept.some((k) => k.family === 6 && sameMapping(m, k)));
  }
  return result(true, kept);
}

/** Asks the checker over IPv6 to probe the pinholes' ports, and proves identity by connection. */
async function proveIpv6(
  options: ExposeOptions,
  made: readonly { mapping: Mapping }[],
): Promise<DoctorReport['findings']> {
  if (!options.checker) {
    return made.map(({ mapping }) => ({
      id: `outside-in:${mapping.internalPort}/${mapping.protocol}/ipv6`,
      status: 'skip' as const,
      summary: 'check from outside over IPv6: not checked (no checker)',
      evidence: [],
      fix: null,
      cause: null,
      ms: 0,
    }));
  }
  const { checkerEndpoints, requestCheck } = await import('../checker/client.js');
  const { provePeers } = await import('../probe/index.js');
  const started = performance.now();
  const [endpoint] = await checkerEndpoints(options.checker, {
    checker6: options.checker6,
    family: 'ipv6',
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const spec = made.map(({ mapping }) => `${mapping.internalPort}/${mapping.protocol}`).join(',');
  const response = await requestCheck(endpoint?.url ?? options.checker, spec, undefined, {
    family: 6,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const proven = await provePeers(response.results);
  const ms = Math.round(performance.now() - started);
  return proven.results.map((result, index) => {
    const at = `[${response.target}]:${result.port}/${result.protocol}`;
    const ok = result.state === 'open' && result.verified === true;
    return {
      id: `outside-in:${result.port}/${result.protocol}/ipv6`,
      status: ok ? ('ok' as const) : result.state === 'open' ? ('warn' as const) : ('fail' as const),
      summary: ok
        ? `reachable from the internet over IPv6 at ${at}, proven to reach this host`
        : result.state === 'open'
          ? `${at} is open over IPv6, but not proven to reach this computer`
          : `not reachable over IPv6 at ${at} (${result.state})`,
      evidence: [`checker probed ${at}: ${result.state} (${result.reason})`, proven.identities[index]?.evidence ?? ''],
      fix: ok
        ? null
        : 'The pinhole was granted but the port is not reached: check the server listens on IPv6 (::) and the host firewall admits it.',
      cause: ok ? null : ('upstream-filter' as const),
      ms,
    };
  });
}

/** The relay road: a proven tunnel per TCP port; with `keep`, held until the signal aborts. */
async function runRelay(
  options: ExposeOptions,
  settings: RelaySettings,
  because: string,
  started: number,
  directFindings: DoctorReport['findings'] = [],
): Promise<ExposeResult> {
  const roads: RelayRoad[] = await openRelayRoads(exposedTcpPorts(options), settings, options);
  const findings = [...directFindings.filter((f) => f.status !== 'fail'), ...relayFindings(roads)];
  const reachable = roads.length > 0 && roads.every((road) => road.verification.verified === true);
  const result = (kept: boolean): ExposeResult => ({
    reachable,
    publicAddress: roads[0]?.publicAddress ?? null,
    lanAddress: null,
    findings,
    mappings: [],
    portChanges: [],
    leftBehind: [],
    firewall: null,
    kept,
    ms: Math.round(performance.now() - started),
    mode: 'relay',
    family: 4,
    relays: roads.map((road) => ({
      port: road.port,
      publicAddress: road.publicAddress,
      verified: road.verification.verified,
    })),
    relayBecause: because,
  });
  if (!options.keep) {
    // Without --keep the tunnel cannot outlive this process: prove it, say so, and close it.
    await closeRelayRoads(roads);
    return result(false);
  }
  options.onStatus?.({
    at: new Date().toISOString(),
    kind: 'relay',
    reachable,
    because,
    give: reachable ? roads.map((road) => road.publicAddress) : [],
  });
  for (const road of roads) {
    road.tunnel.events.on('connected', () =>
      options.onStatus?.({ at: new Date().toISOString(), kind: 'relay-connected', publicAddress: road.publicAddress }),
    );
    road.tunnel.events.on('disconnected', (info: unknown) =>
      options.onStatus?.({
        at: new Date().toISOString(),
        kind: 'relay-disconnected',
        publicAddress: road.publicAddress,
        ...(info as object),
      }),
    );
  }
  await new Promise<void>((resolve) => {
    if (options.signal?.aborted) resolve();
    else options.signal?.addEventListener('abort', () => resolve(), { once: true });
  });
  await closeRelayRoads(roads);
  return result(true);
}

/** The direct road: map, verify, and with `keep` renew until the signal aborts. */
async function runDirect(
  options: ExposeOptions,
  source: string,
  leaveIf: (report: DoctorReport) => string | undefined = () => undefined,
): Promise<ExposeResult & { leftBecause?: string }> {
  const started = performance.now();
  const gateway = await import('../gateway/index.js');
  const { statePath } = options;
  // What this process makes is recorded with its pid before it is made (a firewall table, a
  // mapping request), so a SIGKILL at any moment leaves records `porthole cleanup` acts on; without
  // --keep, what stays by design is forgotten at the end (found by scripts/crash-safety.ts: the
  // records used to be written only after the first check from outside, seconds later).
  const leftovers = await import('../library/leftovers.js');
  let firewall: { applied: boolean; removed: boolean } | null = null;
  let firewallRecord: string | undefined;
  if (options.firewall === 'nftables') {
    const { applyNftables } = await import('../firewall/apply.js');
    const { planRules, resolveManifestNames } = await import('../firewall/index.js');
    const { nftTableName } = await import('../firewall/nftables.js');
    const plan = planRules(options.manifest, await resolveManifestNames(options.manifest));
    firewallRecord = leftovers.recordOwned({
      kind: 'firewall',
      manifest: options.manifest.name,
      table: `inet ${nftTableName(options.manifest.name)}`,
    });
    await applyNftables(plan).catch((error: unknown) => {
      // One transaction: a failed apply applied nothing.
      if (firewallRecord) leftovers.forgetOwned(firewallRecord);
      throw error;
    });
    firewall = { applied: true, removed: false };
  }
  const removeFirewall = async () => {
    if (!firewall?.applied) return;
    const { removeNftables } = await import('../firewall/apply.js');
    await removeNftables(options.manifest.name);
    firewall = { applied: true, removed: true };
    if (firewallRecord) leftovers.forgetOwned(firewallRecord);
  };
  const made: { mapping: Mapping; client: MappingClient; owned: OwnedMapping }[] = [];
  const leftBehind: { mapping: Mapping; why: string }[] = [];
  // One way out: every mapping made is removed or reported (and kept in the record) with why.
  const undo = async () => {
    const removed: Mapping[] = [];
    for (const { mapping, client, owned } of made) {
      try {
        await client.unmap(mapping);
        removed.push(mapping);
        owned.done(true);
      } catch (error) {
        leftBehind.push({ mapping, why: (error as Error).message });
      }
    }
    if (statePath) gateway.forgetMappings(statePath, (m) => removed.some((mapping) => sameMapping(m, mapping)));
    await removeFirewall();
  };
  try {
    const router = await gateway.discoverPrimaryGateway({
      ...(options.signal ? { signal: options.signal } : {}),
      graceMs: 300,
    });
    for (const request of requestsOf(options.manifest.entries)) {
      const asked = leftovers.trackMappingRequest({
        gateway: router.address,
        protocol: request.protocol,
        internalPort: request.internalPort,
      });
      const { mapping, client } = await gateway
        .mapWithBest(
          router,
          { ...request, lifetimeSeconds: options.lifetimeSeconds },
          { ...(options.signal ? { signal: options.signal } : {}), ...(options.via ? { via: options.via } : {}) },
        )
        .catch((error: unknown) => {
          asked.abandon();
          throw error;
        });
      made.push({ mapping, client, owned: asked.made(mapping) });
      if (statePath) gateway.recordMapping(statePath, mapping);
    }
  } catch (error) {
    // Nothing half-made stays behind: mappings made so far and firewall rules go; what cannot
    // go is named in the error, never forgotten silently.
    await undo().catch((cleanup: unknown) =>
      leftBehind.push({ mapping: made[0]?.mapping as Mapping, why: String(cleanup) }),
    );
    if (leftBehind.length > 0 && error instanceof Error) {
      (error as Error & { data?: Record<string, unknown> }).data = {
        ...(error as Error & { data?: Record<string, unknown> }).data,
        leftBehind: leftBehind.map((l) => ({ ...l.mapping, why: l.why })),
      };
    }
    throw error;
  }
  const portChanges = made
    .map(({ mapping }) => mapping)
    .filter((mapping, index) => {
      const asked = requestsOf(options.manifest.entries)[index];
      return asked !== undefined && asked.external === undefined && mapping.externalPort !== mapping.internalPort;
    })
    .map((mapping) => ({ asked: mapping.internalPort, got: mapping.externalPort, protocol: mapping.protocol }));
  const verify = () => runDoctor(options, source);
  let report = await verify();
  const leftBecause = leaveIf(report);
  if (leftBecause !== undefined) {
    await undo();
    return {
      ...report,
      mappings: [],
      portChanges,
      leftBehind,
      firewall,
      kept: false,
      ms: Math.round(performance.now() - started),
      mode: 'direct',
      relays: [],
      family: 4,
      leftBecause,
    };
  }
  if (!options.keep) {
    // Without --keep, mappings and rules stay by design (mappings recorded in the state file).
    for (const { owned } of made) owned.done(true);
    if (firewallRecord) leftovers.forgetOwned(firewallRecord);
    return {
      ...report,
      mappings: made.map((m) => m.mapping),
      portChanges,
      leftBehind,
      firewall,
      kept: false,
      ms: Math.round(performance.now() - started),
      mode: 'direct',
      relays: [],
      family: 4,
    };
  }
  const status = (kind: string, extra: Record<string, unknown>) =>
    options.onStatus?.({ at: new Date().toISOString(), kind, ...extra });
  status('verified', {
    reachable: report.reachable,
    publicAddress: report.publicAddress,
    // Said at once, not after Ctrl-C: the address to give users while this keeps running.
    give:
      report.reachable && report.publicAddress
        ? made.map(({ mapping }) => `${report.publicAddress}:${mapping.externalPort}/${mapping.protocol}`)
        : [],
  });
  const current = made.map((m) => m.mapping);
  const owned = made.map((m) => m.owned);
  const removedAt = new Set<number>();
  // A failed check from outside wakes the keepers: they re-make at once instead of at half the lease.
  const wake = new EventTarget();
  const keepers = made.map(({ mapping, client }, index) =>
    gateway.keepMapping(client, mapping, {
      ...(options.signal ? { signal: options.signal } : {}),
      wake,
      onEvent: (event: KeeperEvent) => {
        if ('mapping' in event) current[index] = event.mapping;
        owned[index]?.follow(event);
        if (event.kind === 'removed') removedAt.add(index);
        if (event.kind === 'remove-failed' && current[index])
          leftBehind.push({ mapping: current[index] as Mapping, why: event.error });
        status(
          event.kind,
          'mapping' in event
            ? { mapping: event.mapping, ...('evidence' in event ? { evidence: event.evidence } : {}) }
            : { error: event.error },
        );
      },
    }),
  );
  const verifier = (async () => {
    while (!options.signal?.aborted) {
      await sleep(options.verifyEverySeconds * 1000, options.signal ? { signal: options.signal } : {}).catch(() => {});
      if (options.signal?.aborted) break;
      report = await verify();
      if (!report.reachable) wake.dispatchEvent(new Event('wake'));
      status('verified', {
        reachable: report.reachable,
        publicAddress: report.publicAddress,
        failing: report.findings.filter((f) => f.status === 'fail').map((f) => f.id),
      });
    }
  })();
  await Promise.all([...keepers, verifier]);
  for (const [index, record] of owned.entries()) record.done(removedAt.has(index));
  // The keepers removed the mappings on abort; forget them and take the firewall rules away.
  if (statePath) gateway.forgetMappings(statePath, (m) => current.some((mapping) => sameMapping(m, mapping)));
  await removeFirewall();
  return {
    ...report,
    mappings: current,
    portChanges,
    leftBehind,
    firewall,
    kept: true,
    ms: Math.round(performance.now() - started),
    mode: 'direct',
    relays: [],
    family: 4,
  };
}

function sameMapping(a: Mapping, b: Mapping): boolean {
  return (
    a.protocol === b.protocol &&
    a.externalPort === b.externalPort &&
    a.internalPort === b.internalPort &&
    a.gateway === b.gateway
  );
}
