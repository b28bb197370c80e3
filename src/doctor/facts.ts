/**
 * The doctor's evidence, gathered with as much concurrency as the dependencies allow:
 *
 *   phase 1  listeners (per port) · host firewall ruleset · gateway + its mappings · NAT
 *   phase 2  outside-in check (needs the listeners and the mappings' external ports) ·
 *            DNS name (needs the public address) · outbound needs (manifest)
 *   phase 3  hairpin (needs the public address and an open port)
 *
 * Nothing here judges: judge.ts turns these facts into findings, purely. Every step records
 * how long it took, and a step that fails records its error instead of stopping the others.
 */
import type { CheckResponse } from '../checkerClient/index.js';
import { type AbortOptions, throwIfAborted } from '../deadline/index.js';
import type { MulticastFinding } from '../discovery/index.js';
import type { EgressResult, NameResolution } from '../egress/index.js';
import type { CombinedVerdict } from '../fleet/index.js';
import type { GatewayInfo, PermissionAnswer, SeenMapping } from '../gateway/index.js';
import type { FirewallAnswer, HostInspection, PortHostFacts, PortListener } from '../host/index.js';
import type { Manifest } from '../manifest/index.js';
import type { NatDiagnosis } from '../nat/index.js';
import type { Transport } from '../net/index.js';
import type { PeerIdentity } from '../probe/index.js';
import type { Change, FactSources, StepName } from './sources.js';

/** A step's outcome: its value, or the error that stopped it, and its time. */
export type Step<T> =
  | { readonly ok: true; readonly value: T; readonly ms: number }
  | { readonly ok: false; readonly error: { readonly code: string; readonly message: string }; readonly ms: number }
  | { readonly ok: 'skipped'; readonly why: string; readonly ms: 0 };

/** A mapping as the router lists or confirms it, or porthole recorded it (see gateway's seeMappings). */
export type { SeenMapping } from '../gateway/index.js';

/** The outside-in probe of one port. */
export interface OutsideValue {
  readonly externalPort: number;
  readonly result: CheckResponse['results'][number];
  /** The public address the checker probed. */
  readonly target: string;
  /** porthole answered on the port itself (nothing else listened), with a proof. */
  readonly ownListener: boolean;
  /** Whether the checker's connection was seen among this host's sockets (a real server's port). */
  readonly identity: PeerIdentity;
  /** Why porthole could not answer on the port itself when nothing listened (E_PERMISSION below 1024...). */
  readonly proofListener?: string;
}

/** What was found about one port of the manifest. */
export interface PortFacts {
  readonly entry: string;
  readonly protocol: Transport;
  readonly port: number;
  /** Sockets bound to the port here (undefined value: this system does not show them). */
  readonly listeners: Step<readonly PortListener[] | undefined>;
  readonly firewall: Step<FirewallAnswer>;
  /** The outside-in probe of the public address (on the mapped external port). */
  readonly outside: Step<OutsideValue>;
  readonly hairpin: Step<{ readonly state: string; readonly reason: string }>;
  /**
   * Whether the router lets this host map the port, asked when nothing maps it (PCP with
   * PREFER_FAILURE, or UPnP; never NAT-PMP, whose refusal starts miniupnpd's port search).
   */
  readonly permission?: PermissionAnswer;
}

/** Everything the doctor saw. */
export interface Facts {
  readonly manifest: string;
  readonly ports: PortFacts[];
  readonly gateway: Step<GatewayInfo>;
  /** The mappings the router lists (UPnP) plus those porthole recorded making. */
  readonly mappings: Step<readonly SeenMapping[]>;
  readonly nat: Step<NatDiagnosis>;
  readonly name: Step<NameResolution>;
  readonly egress: Step<{ readonly results: readonly EgressResult[]; readonly names: readonly NameResolution[] }>;
  readonly checker: string | undefined;
  /** The relay the user configured (--relay, PORTHOLE_RELAY, relay.url), for the fixes to name. */
  readonly relay?: string | undefined;
  /** The manifest's multicast entries on this LAN: firewall, group membership, announcements (src/discovery). */
  readonly multicast: Step<readonly MulticastFinding[]>;
  /** When the checker is a fleet front: what its vantages together saw (src/fleet). */
  readonly vantages?: CombinedVerdict | undefined;
  /** Ranges of more ports than the doctor checks: only their first ports were. */
  readonly unchecked?: readonly UncheckedRange[];
  /**
   * Double NAT: the outer router (from the path), what it speaks, and its mappings that point at
   * this router's WAN address (its UPnP list and porthole's records of it).
   */
  readonly outer?: Step<OuterRouter>;
}

/** The router in front of this one, asked at its address (unicast SSDP, NAT-PMP and PCP all work to a known address). */
export interface OuterRouter {
  readonly gateway: GatewayInfo;
  readonly mappings: readonly SeenMapping[];
}

/** What the doctor is asked. */
export interface DoctorOptions extends AbortOptions {
  readonly manifest: Manifest;
  readonly checker?: URL;
  readonly stun?: { address: string; port: number };
  /** The DNS name that should point at the public address. */
  readonly name?: string;
  /** Where porthole's own mapping records live (XDG state). */
  readonly statePath?: string;
  /** A relay the user has (not used by the doctor; its fixes name it when no direct road can work). */
  readonly relayUrl?: string;
  /** How the user named the ports (`7001`, a manifest's path), for the fixes' commands. */
  readonly source?: string;
  /**
   * Confirm porthole's NAT-PMP/PCP records with the router by renewing them (default true; the
   * renewal is said in the report's changes). Expose, which holds its mappings live, turns it off.
   */
  readonly confirmMappings?: boolean;
}

function errorOf(error: unknown): { code: string; message: string } {
  const known = error as { code?: unknown; message?: unknown };
  return {
    code: typeof known.code === 'string' ? known.code : 'E_INTERNAL',
    message: typeof known.message === 'string' ? known.message : String(error),
  };
}

/** Runs one step, timing it and catching its failure. */
export async function step<T>(work: () => Promise<T>): Promise<Step<T>> {
  const started = performance.now();
  const ms = () => Math.round((performance.now() - started) * 10) / 10;
  try {
    const value = await work();
    return { ok: true, value, ms: ms() };
  } catch (error) {
    return { ok: false, error: errorOf(error), ms: ms() };
  }
}

/** A step that did not run, and why. */
export function skipped<T>(why: string): Step<T> {
  return { ok: 'skipped', why, ms: 0 };
}

/**
 * The most ports of one range the doctor checks: a check service probes at most 64 ports at once,
 * a router maps one port of a range, and a 10,000-port range made the doctor inspect every port
 * (22 s, and the host ran out of file descriptors before the router was asked).
 */
export const MAX_CHECKED_PER_RANGE = 64;

/** A range the doctor checked only the start of, and why. */
export interface UncheckedRange {
  readonly entry: string;
  readonly protocol: Transport;
  readonly start: number;
  readonly end: number;
  /** The last port checked (start + MAX_CHECKED_PER_RANGE - 1). */
  readonly checkedTo: number;
}

/** The (entry, port, protocol) triples the doctor checks: every exposed inbound port, the first 64 of a larger range. */
export function exposedPorts(manifest: Manifest): { entry: string; protocol: Transport; port: number }[] {
  const ports: { entry: string; protocol: Transport; port: number }[] = [];
  for (const entry of manifest.entries) {
    if (entry.direction !== 'inbound' || !entry.expose) continue;
    for (const range of entry.ports) {
      const last = Math.min(range.end, range.start + MAX_CHECKED_PER_RANGE - 1);
      for (let port = range.start; port <= last; port++)
        ports.push({ entry: entry.name, protocol: range.protocol, port });
    }
  }
  return ports;
}

/** The ranges larger than the doctor checks, for the report to say so. */
export function uncheckedRanges(manifest: Manifest): UncheckedRange[] {
  return manifest.entries
    .filter((entry) => entry.direction === 'inbound' && entry.expose)
    .flatMap((entry) =>
      entry.ports
        .filter((range) => range.end - range.start + 1 > MAX_CHECKED_PER_RANGE)
        .map((range) => ({
          entry: entry.name,
          protocol: range.protocol,
          start: range.start,
          end: range.end,
          checkedTo: range.start + MAX_CHECKED_PER_RANGE - 1,
        })),
    );
}

/** The router's mappings; porthole's records count only as far as the router confirms them now. */
async function gatherMappings(
  gateway: GatewayInfo,
  statePath: string | undefined,
  ports: readonly { protocol: Transport; port: number }[],
  options: AbortOptions & { confirm: boolean },
): Promise<SeenMapping[]> {
  const { seeMappings } = await import('../gateway/index.js');
  // Only the records of the ports being diagnosed are confirmed (renewed): the others are not asked about.
  const asked = (m: { protocol: string; internalPort: number }) =>
    ports.some((p) => p.protocol === m.protocol && p.port === m.internalPort);
  return seeMappings(gateway, { ...options, statePath, confirmOnly: asked });
}

/** The external port a mapping for this host's port uses (the port itself when none is known). */
function externalPortOf(
  mappings: Step<readonly SeenMapping[]>,
  lanAddress: string | undefined,
  protocol: Transport,
  port: number,
): number {
  if (mappings.ok !== true) return port;
  const mine = mappings.value.find(
    (entry) =>
      entry.protocol === protocol &&
      entry.internalPort === port &&
      entry.internalAddress === lanAddress &&
      entry.live !== false,
  );
  return mine?.externalPort ?? port;
}

/** At most this many questions (one per entry and protocol): a host the rules refuse is refused for every port alike. */
const MAX_PERMISSION_ASKS = 4;

/**
 * For each port no mapping serves, whether the router would let this host map it: asked only
 * where the router can answer safely, and said in the report's changes (a mapping is made and
 * deleted to ask). Once the router refuses the host itself, the other ports share that answer.
 */
async function askPermissions(
  ports: readonly { entry: string; protocol: Transport; port: number }[],
  gateway: Step<GatewayInfo>,
  mappings: Step<readonly SeenMapping[]>,
  sources: FactSources,
  signal: AbortSignal | undefined,
): Promise<(PermissionAnswer | undefined)[]> {
  if (gateway.ok !== true || mappings.ok !== true || !gateway.value.externalIp) return [];
  const { askPermission } = await import('../gateway/index.js');
  const lan = gateway.value.internalAddress;
  const answers: (PermissionAnswer | undefined)[] = [];
  // One question per entry and protocol (a range's ports share the router's rules), a few in all.
  const asked = new Set<string>();
  let host: PermissionAnswer | undefined;
  for (const p of ports) {
    const mapped = mappings.value.some(
      (m) => m.live !== false && m.protocol === p.protocol && m.internalPort === p.port && m.internalAddress === lan,
    );
    const key = `${p.entry}/${p.protocol}`;
    if (mapped || host || asked.has(key) || asked.size >= MAX_PERMISSION_ASKS) {
      answers.push(mapped ? undefined : host);
      continue;
    }
    asked.add(key);
    const answer = await askPermission(gateway.value, p, signal ? { signal } : {});
    if (answer)
      sources.changed({
        on: 'router',
        what: answer.changed,
        why: 'nothing maps the port: would the router let this host map it?',
        found: answer.evidence,
      });
    if (answer?.allowed === false && answer.scope === 'host') host = answer;
    answers.push(answer);
  }
  return answers;
}

/** Runs one step of the plan, said as it starts and ends (the page shows each hop as it is checked). */
function tracked<T>(sources: FactSources, name: StepName, label: string, work: () => Promise<T>): Promise<Step<T>> {
  sources.step({ kind: 'step', step: name, state: 'started', label });
  return step(work).then((result) => {
    sources.step({
      kind: 'step',
      step: name,
      state: result.ok === true ? 'done' : 'failed',
      label: result.ok === false ? `${label}: ${result.error.code}` : label,
      ms: result.ms,
    });
    return result;
  });
}

/** A step that will not run, said once. */
function notRunning<T>(sources: FactSources, name: StepName, why: string): Step<T> {
  sources.step({ kind: 'step', step: name, state: 'skipped', label: why });
  return skipped(why);
}

/** What confirming mappings changed on the router: one change per NAT-PMP/PCP record renewed to ask. */
export function renewalChanges(seen: readonly SeenMapping[]): Change[] {
  return seen
    .filter((m) => m.confirmedBy === 'renewal')
    .map((m) => {
      const method = m.source.includes('PCP') ? 'PCP' : 'NAT-PMP';
      return {
        on: 'router' as const,
        what: `renewed porthole's ${method} mapping of ${m.externalPort}/${m.protocol} -> ${m.internalAddress}:${m.internalPort}`,
        why: `${method} has no way to read a mapping: renewing it is the only question the router answers`,
        ...(m.lost ? { found: `the router had lost it (${m.lost}); the renewal made it again` } : {}),
      };
    });
}

/** Says what confirming the mappings changed on the router. */
function sayRenewals(sources: FactSources, mappings: Step<readonly SeenMapping[]>): void {
  if (mappings.ok === true) for (const change of renewalChanges(mappings.value)) sources.changed(change);
}

/**
 * Gathers every fact; never throws for what it finds, only when aborted. The run's sources give
 * the host and the gateway (discovered once for the whole run) and hear the steps and changes.
 */
export async function gatherFacts(
  options: DoctorOptions,
  sources: FactSources,
  /** Hears the facts once the first phase is in (host, router, NAT), the later steps pending. */
  firstPhase?: (facts: Facts) => void,
): Promise<Facts> {
  const { signal } = options;
  const ports = exposedPorts(options.manifest);
  const { host } = sources;
  // Phase 1. The host is looked at once for every port (one PowerShell process on Windows).
  const hostP =
    ports.length > 0
      ? tracked(sources, 'host', 'something listening, and the host firewall', () =>
          host.inspect(
            ports.map((p) => ({ protocol: p.protocol, port: p.port })),
            { ...(signal ? { signal } : {}), ...(options.source !== undefined ? { source: options.source } : {}) },
          ),
        )
      : Promise.resolve(notRunning<HostInspection>(sources, 'host', 'no ports asked'));
  const gatewayP = tracked(sources, 'gateway', 'the router, and what it speaks', () => sources.gateway());
  const mappingsP = gatewayP.then((gateway) =>
    gateway.ok === true
      ? tracked(sources, 'mappings', "the router's mappings", () =>
          gatherMappings(gateway.value, options.statePath, ports, {
            signal,
            confirm: options.confirmMappings !== false,
          }),
        )
      : Promise.resolve(notRunning<SeenMapping[]>(sources, 'mappings', 'no gateway')),
  );
  const natP =
    options.stun || options.checker
      ? tracked(sources, 'nat', 'the public address, and carrier-grade or double NAT', async () => {
          const { diagnoseNat } = await import('../nat/index.js');
          return diagnoseNat({
            signal,
            gateways: () => sources.gateways(),
            ...(options.stun ? { stun: options.stun } : {}),
            ...(options.checker ? { checker: options.checker } : {}),
          });
        })
      : Promise.resolve(
          notRunning<NatDiagnosis>(sources, 'nat', 'no --stun server or checker to learn the public address from'),
        );
  const outerP = Promise.all([natP, gatewayP]).then(([nat, gateway]) =>
    gatherOuter(nat, gateway, options.statePath, sources, signal),
  );
  const permissionP = mappingsP.then(async (mappings) =>
    options.confirmMappings === false ? [] : askPermissions(ports, await gatewayP, mappings, sources, signal),
  );
  const [inspection, gateway, mappings, nat, permissions, outer] = await Promise.all([
    hostP,
    gatewayP,
    mappingsP,
    natP,
    permissionP,
    outerP,
  ]);
  sayRenewals(sources, mappings);
  const perPort = <T>(pick: (facts: PortHostFacts) => T) =>
    ports.map((_, index): Step<T> => {
      if (inspection.ok !== true) return inspection;
      const facts = inspection.value.ports[index];
      return facts ? { ok: true, value: pick(facts), ms: inspection.ms } : skipped('not run');
    });
  const listeners = perPort((facts) => facts.listeners);
  const firewall = perPort((facts) => facts.firewall);
  firstPhase?.({
    manifest: options.manifest.name,
    ports: ports.map((p, index) => ({
      ...p,
      listeners: listeners[index] ?? skipped('not run'),
      firewall: firewall[index] ?? skipped('not run'),
      outside: skipped('pending'),
      hairpin: skipped('pending'),
    })),
    gateway,
    mappings,
    nat,
    name: skipped('pending'),
    egress: skipped('pending'),
    multicast: skipped('pending'),
    checker: options.checker?.origin,
    ...(options.relayUrl ? { relay: options.relayUrl } : {}),
  });
  const lanAddress = gateway.ok === true ? gateway.value.internalAddress : undefined;
  const publicIp = nat.ok === true ? nat.value.publicIp : gateway.ok === true ? gateway.value.externalIp : undefined;

  // Phase 2.
  const outsideP = options.checker
    ? checkFromOutside(
        options.checker,
        ports,
        listeners,
        (p) => publicPortOf(externalPortOf(mappings, lanAddress, p.protocol, p.port), p.protocol, outer),
        sources,
        signal,
      )
    : Promise.resolve({
        steps: ports.map(() => skipped<OutsideValue>('no checker (--checker or PORTHOLE_CHECKER)')),
        combined: undefined,
      });
  const nameP = options.name
    ? tracked(sources, 'name', `the DNS name ${options.name}`, async () =>
        (await import('../egress/index.js')).resolveName(options.name ?? ''),
      )
    : Promise.resolve(skipped<NameResolution>('no --name given'));
  const egressP = gatherEgress(options, sources);
  const multicastP = options.manifest.entries.some((entry) => entry.direction === 'multicast')
    ? tracked(sources, 'multicast', 'LAN discovery (multicast) entries', async () =>
        (await import('../discovery/index.js')).checkMulticast(options.manifest, { signal }),
      )
    : Promise.resolve(skipped<readonly MulticastFinding[]>('the manifest has no multicast entries'));
  const [outsideAll, name, egress, multicast] = await Promise.all([outsideP, nameP, egressP, multicastP]);
  const { steps: outside, combined: vantages } = outsideAll;

  // Phase 3: hairpin, from here to the public address, for ports that are open from outside.
  const hairpin = await Promise.all(
    ports.map((p, index) => {
      const seen = outside[index];
      if (!publicIp || p.protocol !== 'tcp' || !seen || seen.ok !== true || seen.value.result.state !== 'open') {
        return Promise.resolve(skipped<{ state: string; reason: string }>('the port is not open from outside'));
      }
      return tracked(sources, 'hairpin', `the public address from inside (${p.port}/${p.protocol})`, async () => {
        const { probeTcp } = await import('../probe/index.js');
        const result = await probeTcp(publicIp, seen.value.externalPort, { timeoutMs: 1000, signal });
        return { state: result.state, reason: result.reason };
      });
    }),
  );

  // A step that failed because the run was interrupted is not a finding: the run ends E_ABORTED.
  throwIfAborted(signal);
  const unchecked = uncheckedRanges(options.manifest);
  return {
    manifest: options.manifest.name,
    ports: ports.map((p, index) => ({
      ...p,
      listeners: listeners[index] ?? skipped('not run'),
      firewall: firewall[index] ?? skipped('not run'),
      outside: outside[index] ?? skipped('not run'),
      hairpin: hairpin[index] ?? skipped('not run'),
      ...(permissions[index] ? { permission: permissions[index] } : {}),
    })),
    gateway,
    mappings,
    nat,
    name,
    egress,
    multicast,
    checker: options.checker?.origin,
    ...(options.relayUrl ? { relay: options.relayUrl } : {}),
    ...(vantages ? { vantages } : {}),
    ...(outer ? { outer } : {}),
    ...(unchecked.length > 0 ? { unchecked } : {}),
  };
}

/**
 * Double NAT: the outer router from the path (the first private hop after this router), asked at
 * its address with this router's WAN address as the client, and its mappings of that address.
 */
async function gatherOuter(
  nat: Step<NatDiagnosis>,
  gateway: Step<GatewayInfo>,
  statePath: string | undefined,
  sources: FactSources,
  signal: AbortSignal | undefined,
): Promise<Step<OuterRouter> | undefined> {
  if (nat.ok !== true || !nat.value.doubleNat || nat.value.cgnat || gateway.ok !== true || !sources.outerGateway)
    return undefined;
  const hop = (nat.value.path ?? []).slice(1).find((h) => h.class === 'private');
  if (!hop) return undefined;
  return tracked(sources, 'gateway', `the router in front (${hop.address})`, async () => {
    const outer = await (sources.outerGateway as NonNullable<FactSources['outerGateway']>).call(
      sources,
      hop.address,
      gateway.value,
    );
    const mappings =
      outer.protocols.length > 0 ? await gatherMappings(outer, statePath, [], { signal, confirm: false }) : [];
    return { gateway: outer, mappings };
  });
}

/** The port the internet sees: the outer router's mapping of this router's external port, when there is one. */
function publicPortOf(innerPort: number, protocol: Transport, outer: Step<OuterRouter> | undefined): number {
  if (outer?.ok !== true) return innerPort;
  const forward = outer.value.mappings.find(
    (m) => m.live !== false && m.mine && m.protocol === protocol && m.internalPort === innerPort,
  );
  return forward?.externalPort ?? innerPort;
}

/**
 * Asks the checker to probe the public address. Where nothing listens on a port (and porthole
 * may bind it), porthole answers there itself with a proof, so the network path is tested
 * even while the server is down, and the answer proves it reached this machine.
 */
async function checkFromOutside(
  checker: URL,
  ports: readonly { entry: string; protocol: Transport; port: number }[],
  listeners: readonly Step<readonly PortListener[] | undefined>[],
  externalPort: (p: { protocol: Transport; port: number }) => number,
  sources: FactSources,
  signal: AbortSignal | undefined,
) {
  const { host } = sources;
  const { requestCheck } = await import('../checkerClient/index.js');
  const { newProofKey, provePeers, startProofListeners } = await import('../probe/index.js');
  const free = ports.filter((_, index) => {
    const seen = listeners[index];
    return seen?.ok === true && seen.value !== undefined && seen.value.length === 0;
  });
  const key = newProofKey();
  const own = new Set<string>();
  let proof: Awaited<ReturnType<typeof startProofListeners>> | undefined;
  // Why porthole could not answer on a free port itself (a port below 1024 without root): kept as
  // evidence, since the check then tests the path without proof.
  let proofError: string | undefined;
  if (free.length > 0) {
    proof = await startProofListeners(
      free.map((p) => ({ protocol: p.protocol, port: p.port })),
      key,
    ).catch((error: unknown) => {
      proofError = `porthole could not answer on ${free.map((p) => `${p.port}/${p.protocol}`).join(', ')} itself (${errorOf(error).code}: ${errorOf(error).message})`;
      return undefined;
    });
    for (const bound of proof?.bound ?? []) own.add(`${bound.port}/${bound.protocol}`);
  }
  try {
    const asked = ports.map((p) => ({ ...p, externalPort: externalPort(p) }));
    const spec = asked.map((p) => `${p.externalPort}/${p.protocol}`).join(',');
    const response = await tracked(sources, 'outside-in', `a check from outside (${checker.origin})`, () =>
      requestCheck(checker, spec, own.size > 0 ? key : undefined, { signal }),
    );
    // The checker holds its open connections until its answer is out: look for them here now.
    const internalOf = (r: { port: number; protocol: Transport }) =>
      asked.find((p) => p.externalPort === r.port && p.protocol === r.protocol)?.port ?? r.port;
    const proven =
      response.ok === true
        ? await provePeers(response.value.results, (local) => host.connections(local), internalOf)
        : undefined;
    // A fleet front answers with what each vantage saw as well (src/fleet).
    const combined = response.ok === true ? (response.value as { combined?: CombinedVerdict }).combined : undefined;
    const steps = asked.map((p): Step<OutsideValue> => {
      if (response.ok !== true || !proven) return response.ok === false ? response : skipped('not run');
      const index = proven.results.findIndex((r) => r.port === p.externalPort && r.protocol === p.protocol);
      const result = proven.results[index];
      const identity = proven.identities[index];
      if (!result || !identity)
        return {
          ok: false as const,
          error: { code: 'E_CHECKER_REFUSED', message: 'the checker left the port out' },
          ms: response.ms,
        };
      return {
        ok: true as const,
        ms: response.ms,
        value: {
          externalPort: p.externalPort,
          result,
          target: response.value.target,
          ownListener: own.has(`${p.port}/${p.protocol}`),
          identity,
          ...(proofError ? { proofListener: proofError } : {}),
        },
      };
    });
    return { steps, combined };
  } finally {
    await proof?.close();
  }
}

/** The manifest's outbound needs, when it has some and the checker runs an egress listener. */
async function gatherEgress(options: DoctorOptions, sources: FactSources): Promise<Facts['egress']> {
  const outbound = options.manifest.entries.filter((entry) => entry.direction === 'outbound');
  if (outbound.length === 0) return skipped('the manifest names no outbound needs');
  return tracked(sources, 'egress', "the manifest's outbound needs", async () => {
    const { egressServiceOf, needsService, planForManifest } = await import('../egress/index.js');
    const { sweepEgress } = await import('../egress/index.js');
    // Entries without hosts need the checker's listener; without one they are untested, and why.
    let problem: string | undefined = options.checker ? undefined : 'no checker named to test against';
    const service =
      needsService(outbound) && options.checker
        ? await egressServiceOf(options.checker, options).catch((error: unknown) => {
            problem = `the checker's egress listener could not be used (${errorOf(error).code}: ${errorOf(error).message})`;
            return undefined;
          })
        : undefined;
    const plan = await planForManifest(outbound, service, problem);
    const report = await sweepEgress(plan.targets, {
      ...(options.signal ? { signal: options.signal } : {}),
      ...(service?.publicKey ? { publicKey: service.publicKey } : {}),
    });
    return { results: [...report.results, ...plan.untested], names: plan.names };
  });
}
