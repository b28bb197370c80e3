/**
 * `porthole expose`: make the manifest's exposed ports reachable and prove it. Opens the host
 * firewall when asked, maps each exposed entry on the router (a range takes the first free
 * external port of the range), then runs the doctor to verify from outside. With `keep`, the
 * mappings are renewed and re-made after a router restart, the path is re-verified on an
 * interval, and on stop everything made is removed: mappings first, then firewall rules.
 */
import { sleep } from '../deadline/index.js';
import type { KeeperEvent, Mapping, MappingClient, MappingMethod } from '../gateway/index.js';
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
  if (!relay) return runDirect(options, source);
  const started = performance.now();
  let direct: ExposeResult;
  try {
    direct = await runDirect({ ...options, keep: false }, source);
  } catch (error) {
    if (options.signal?.aborted) throw error;
    return runRelay(options, relay, `mapping failed: ${(error as Error).message}`, started);
  }
  const closed = direct.findings.filter((f) => f.status === 'fail' && f.cause && DIRECT_ROAD_CLOSED.has(f.cause));
  if (direct.reachable || closed.length === 0) {
    // Direct works (or fails for a reason a relay would not mend, such as nothing listening).
    return options.keep ? runDirect(options, source) : direct;
  }
  // Leave the direct road: its mappings would only hold ports open that nothing reaches.
  await removeMade(options, direct.mappings);
  const because = [...new Set(closed.map((f) => f.cause))].join(', ');
  return runRelay(options, relay, `the direct road cannot work here (${because})`, started, direct.findings);
}

/** Removes mappings a finished direct attempt made (and forgets them). */
async function removeMade(options: ExposeOptions, mappings: readonly Mapping[]): Promise<void> {
  if (mappings.length === 0) return;
  const gateway = await import('../gateway/index.js');
  const router = await gateway.discoverPrimaryGateway({ ...(options.signal ? { signal: options.signal } : {}) });
  for (const mapping of mappings) {
    await gateway.removeMappings(router, {
      protocol: mapping.protocol,
      externalPort: mapping.externalPort,
      ...(options.statePath ? { statePath: options.statePath } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }
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
async function runDirect(options: ExposeOptions, source: string): Promise<ExposeResult> {
  const started = performance.now();
  const gateway = await import('../gateway/index.js');
  const { statePath } = options;
  let firewall: { applied: boolean; removed: boolean } | null = null;
  if (options.firewall === 'nftables') {
    const { applyNftables } = await import('../firewall/apply.js');
    const { planRules, resolveManifestNames } = await import('../firewall/index.js');
    await applyNftables(planRules(options.manifest, await resolveManifestNames(options.manifest)));
    firewall = { applied: true, removed: false };
  }
  const made: { mapping: Mapping; client: MappingClient }[] = [];
  const leftBehind: { mapping: Mapping; why: string }[] = [];
  // One way out: every mapping made is removed or reported (and kept in the record) with why.
  const undo = async () => {
    const removed: Mapping[] = [];
    for (const { mapping, client } of made) {
      try {
        await client.unmap(mapping);
        removed.push(mapping);
      } catch (error) {
        leftBehind.push({ mapping, why: (error as Error).message });
      }
    }
    if (statePath) gateway.forgetMappings(statePath, (m) => removed.some((mapping) => sameMapping(m, mapping)));
    if (firewall?.applied) {
      const { removeNftables } = await import('../firewall/apply.js');
      await removeNftables(options.manifest.name);
      firewall = { applied: true, removed: true };
    }
  };
  try {
    const router = await gateway.discoverPrimaryGateway({
      ...(options.signal ? { signal: options.signal } : {}),
      graceMs: 300,
    });
    for (const request of requestsOf(options.manifest.entries)) {
      const { mapping, client } = await gateway.mapWithBest(
        router,
        { ...request, lifetimeSeconds: options.lifetimeSeconds },
        { ...(options.signal ? { signal: options.signal } : {}), ...(options.via ? { via: options.via } : {}) },
      );
      made.push({ mapping, client });
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
  if (!options.keep) {
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
  // A failed check from outside wakes the keepers: they re-make at once instead of at half the lease.
  const wake = new EventTarget();
  const keepers = made.map(({ mapping, client }, index) =>
    gateway.keepMapping(client, mapping, {
      ...(options.signal ? { signal: options.signal } : {}),
      wake,
      onEvent: (event: KeeperEvent) => {
        if ('mapping' in event) current[index] = event.mapping;
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
  // The keepers removed the mappings on abort; forget them and take the firewall rules away.
  if (statePath) gateway.forgetMappings(statePath, (m) => current.some((mapping) => sameMapping(m, mapping)));
  if (firewall?.applied) {
    const { removeNftables } = await import('../firewall/apply.js');
    await removeNftables(options.manifest.name);
    firewall = { applied: true, removed: true };
  }
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
