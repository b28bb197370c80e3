/**
 * `porthole expose`: make the manifest's exposed ports reachable and prove it. Opens the host
 * firewall when asked, maps each exposed entry on the router (a range takes the first free
 * external port of the range), then runs the doctor to verify from outside. With `keep`, the
 * mappings are renewed and re-made after a router restart, the path is re-verified on an
 * interval, and on stop everything made is removed: mappings first, then firewall rules.
 */
import { sleep } from '../deadline/index.js';
import type { KeeperEvent, Mapping, MappingClient } from '../gateway/index.js';
import type { OwnedMapping } from '../library/leftovers.js';
import {
  type ExposeOptions,
  type ExposeResult,
  exposedTcpPorts,
  requestsOf,
  roadResult,
  sameMapping,
} from './exposePlan.js';
import { type DoctorReport, runDoctor } from './index.js';
import { hasGlobalIpv6, runIpv6 } from './ipv6Road.js';
import {
  closeRelayRoads,
  DIRECT_ROAD_CLOSED,
  openRelayRoads,
  type RelayRoad,
  type RelaySettings,
  relayFindings,
} from './relayRoad.js';

export type { ExposeOptions, ExposeResult } from './exposePlan.js';

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
  const report: DoctorReport = {
    reachable,
    publicAddress: roads[0]?.publicAddress ?? null,
    lanAddress: null,
    findings,
  };
  const result = (kept: boolean): ExposeResult =>
    roadResult(
      report,
      {
        mode: 'relay',
        family: 4,
        kept,
        relays: roads.map((road) => ({
          port: road.port,
          publicAddress: road.publicAddress,
          verified: road.verification.verified,
        })),
        relayBecause: because,
      },
      started,
    );
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
      const { mapping, client, owned } = await leftovers.askRecorded((beforeAsking) => {
        beforeAsking({ gateway: router.address, protocol: request.protocol, internalPort: request.internalPort });
        return gateway.mapWithBest(
          router,
          { ...request, lifetimeSeconds: options.lifetimeSeconds },
          { ...(options.signal ? { signal: options.signal } : {}), ...(options.via ? { via: options.via } : {}) },
        );
      });
      made.push({ mapping, client, owned });
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
      ...roadResult(report, { mode: 'direct', family: 4, kept: false, portChanges, leftBehind, firewall }, started),
      leftBecause,
    };
  }
  if (!options.keep) {
    // Without --keep, mappings and rules stay by design (mappings recorded in the state file).
    for (const { owned } of made) owned.done(true);
    if (firewallRecord) leftovers.forgetOwned(firewallRecord);
    const mappings = made.map((m) => m.mapping);
    return roadResult(
      report,
      { mode: 'direct', family: 4, kept: false, mappings, portChanges, leftBehind, firewall },
      started,
    );
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
  return roadResult(
    report,
    { mode: 'direct', family: 4, kept: true, mappings: current, portChanges, leftBehind, firewall },
    started,
  );
}
