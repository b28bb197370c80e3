/**
 * What an egress run tests: the asked ports against a porthole egress listener, or a
 * manifest's outbound entries (entries without hosts against the listener, entries with
 * hosts against every address their names resolve to). Name resolution is a finding of its
 * own: an appliance whose pool names do not resolve fails however open the firewall is.
 */
import { createPublicKey, type KeyObject, randomBytes } from 'node:crypto';
import { getServers, lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { requestEgressInfo } from '../checkerClient/index.js';
import type { AbortOptions } from '../deadline/index.js';
import { PortholeError } from '../errors/index.js';
import type { ManifestEntry } from '../manifest/index.js';
import { formatIp, type PortEntry, type PortRange, parsePortSpec, portEntries } from '../net/index.js';
import type { EgressResult, SweepTarget } from './sweep.js';

/** Longest a name may take to resolve. */
const RESOLVE_TIMEOUT_MS = 5000;

/** The outcome of resolving one name. */
export interface NameResolution {
  readonly name: string;
  /** The manifest entry that named it. */
  readonly entry?: string;
  readonly addresses: readonly string[];
  readonly ms: number;
  /** Set when the name did not resolve: `ENOTFOUND` (no such name), `EAI_AGAIN` / `ETIMEOUT` (no answer). */
  readonly error?: { readonly code: string; readonly message: string };
}

/** Resolves a name the way applications do (getaddrinfo: /etc/hosts, then DNS), bounded in time. */
export async function resolveName(name: string, entry?: string): Promise<NameResolution> {
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  const base = { name, ...(entry ? { entry } : {}) };
  if (isIP(name)) return { ...base, addresses: [name], ms: 0 };
  let timer: NodeJS.Timeout | undefined;
  try {
    const found = await Promise.race([
      lookup(name, { all: true, verbatim: true }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(Object.assign(new Error(`no answer in ${RESOLVE_TIMEOUT_MS} ms`), { code: 'ETIMEOUT' })),
          RESOLVE_TIMEOUT_MS,
        );
      }),
    ]);
    return { ...base, addresses: [...new Set(found.map((item) => item.address))], ms: ms() };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'EDNS';
    const message =
      code === 'ENOTFOUND'
        ? 'no such name (the DNS answered that it does not exist)'
        : code === 'EAI_AGAIN' || code === 'ETIMEOUT'
          ? 'the DNS server did not answer'
          : (error as Error).message;
    return { ...base, addresses: [], ms: ms(), error: { code, message } };
  } finally {
    clearTimeout(timer);
  }
}

/** The error code of a name whose answer is forged: the resolver gave the same for a made-up name. */
export const FORGED_ANSWER = 'EFORGED';

/**
 * A name that cannot exist, beside `name` in its zone: a random label under its parent
 * (`porthole-canary-1f2e3d4c.example.net` for `svr1.example.net`). A resolver that answers
 * it answers for anyone (NXDOMAIN rewriting, a venue's DNS interception).
 */
export function canaryName(name: string): string {
  const labels = name.split('.');
  const parent = labels.length > 2 ? labels.slice(1).join('.') : name;
  return `porthole-canary-${randomBytes(4).toString('hex')}.${parent}`;
}

/**
 * Names judged by the canary name's answer: a name whose addresses were all given to the
 * made-up name too is forged (`EFORGED`, no addresses); other answers stand.
 */
export function judgeNamesByCanary(
  names: readonly NameResolution[],
  canary: NameResolution | undefined,
): NameResolution[] {
  const forged = new Set(canary?.addresses ?? []);
  if (forged.size === 0) return [...names];
  return names.map((name) =>
    name.addresses.length > 0 && name.addresses.every((address) => forged.has(address))
      ? {
          ...name,
          addresses: [],
          error: {
            code: FORGED_ANSWER,
            message: `the resolver answers for names that do not exist (a made-up name got ${[...forged].join(', ')} too): this answer (${name.addresses.join(', ')}) proves nothing`,
          },
        }
      : name,
  );
}

/** A porthole egress listener to test against. */
export interface EgressService {
  readonly host: string;
  /** What it answers on; undefined when unknown (--target): every port is tried. */
  readonly tcp?: readonly PortRange[];
  readonly udp?: readonly PortRange[];
  /** The key its answers are signed with; undefined when unknown (--target): the nonce is checked. */
  readonly publicKey?: KeyObject;
  /** The check service that described it (its origin). */
  readonly checker?: string;
}

/** The checker's egress listener, as GET /v1/egress describes it. */
export async function egressServiceOf(checker: URL, options: AbortOptions = {}): Promise<EgressService> {
  const info = await requestEgressInfo(checker, options);
  if (!isIP(info.address)) {
    throw new PortholeError('E_CHECKER_REFUSED', {
      detail: `${checker.origin} named egress address "${info.address}"`,
    });
  }
  return {
    host: info.address,
    checker: checker.origin,
    publicKey: createPublicKey({ key: Buffer.from(info.publicKey, 'base64'), format: 'der', type: 'spki' }),
    tcp: info.tcp ? parsePortSpec(info.tcp) : [],
    udp: info.udp ? parsePortSpec(info.udp) : [],
  };
}

/** The targets of a run, and the results known without dialling. */
export interface EgressPlan {
  readonly targets: SweepTarget[];
  /**
   * Results decided without a connection attempt: ports that cannot be tested (`untested`,
   * with why), names that did not resolve, and the resolver need, judged by resolution.
   */
  readonly untested: EgressResult[];
  readonly names: NameResolution[];
  /** The made-up name asked beside the manifest's names; addresses here mean forged answers. */
  readonly dnsCanary?: NameResolution;
}

function served(service: EgressService, entry: PortEntry): boolean {
  const ranges = entry.protocol === 'tcp' ? service.tcp : service.udp;
  return ranges === undefined || ranges.some((range) => entry.port >= range.start && entry.port <= range.end);
}

/** Splits ports into what the listener answers on and what it cannot test. */
function againstService(service: EgressService, ranges: readonly PortRange[], entry?: string) {
  const testable: PortEntry[] = [];
  const untested: EgressResult[] = [];
  for (const port of portEntries(ranges)) {
    if (served(service, port)) testable.push(port);
    else {
      untested.push({
        host: service.host,
        ...(entry ? { entry } : {}),
        ...port,
        state: 'untested',
        reason: 'not-served',
        ms: 0,
        attempts: 0,
      });
    }
  }
  const target: SweepTarget = {
    host: service.host,
    ...(entry ? { entry } : {}),
    entries: testable,
    handshake: 'banner',
  };
  return { target, untested };
}

/** The plan for `--ports`. */
export function planForPorts(service: EgressService, ranges: readonly PortRange[]): EgressPlan {
  const { target, untested } = againstService(service, ranges);
  return { targets: target.entries.length > 0 ? [target] : [], untested, names: [] };
}

/**
 * True for an entry that stands for "names resolve through the network's resolver" (seed 003:
 * DNS "referred to by your router's DHCP config"): outbound to port 53 only, no hosts. The
 * appliance talks to whatever resolver the network hands out, not to our listener, so the
 * need is judged by resolving names, not by dialling port 53 somewhere.
 */
export function isResolverNeed(entry: ManifestEntry): boolean {
  return (
    entry.direction === 'outbound' &&
    entry.peers.length === 0 &&
    entry.ports.length > 0 &&
    entry.ports.every((range) => range.start === 53 && range.end === 53)
  );
}

/** `ENOTFOUND` is an answer (the name does not exist); silence and errors are not. */
function resolverAnswered(resolution: NameResolution): boolean {
  return resolution.addresses.length > 0 || resolution.error?.code === 'ENOTFOUND';
}

/**
 * The resolver need's verdict from the names resolved for the run: allowed when the resolver
 * answered for some name, intercepted when its only answers were forged (it answers for
 * anyone), blocked when it answered for none, untested with no name to ask.
 */
export function judgeResolverNeed(
  entry: ManifestEntry,
  names: readonly NameResolution[],
  resolver: string,
): EgressResult[] {
  const answered = names.filter(resolverAnswered);
  const forged = names.some((name) => name.error?.code === FORGED_ANSWER);
  const verdict: Pick<EgressResult, 'state' | 'reason'> =
    names.length === 0
      ? { state: 'untested', reason: 'no-names-to-resolve' }
      : answered.length === 0 && forged
        ? { state: 'intercepted', reason: 'resolver-answers-for-anyone' }
        : answered.length > 0
          ? {
              state: 'allowed',
              reason: answered.some((name) => name.addresses.length > 0) ? 'names-resolve' : 'resolver-answers',
            }
          : { state: 'blocked', reason: 'resolver-silent' };
  const ms = Math.max(0, ...names.map((name) => name.ms));
  return [...portEntries(entry.ports)].map((port) => ({
    host: resolver,
    entry: entry.name,
    ...port,
    ...verdict,
    ms,
    attempts: names.length,
  }));
}

/** The resolver this machine asks (resolv.conf's first server), for the report. */
function systemResolver(): string {
  try {
    return getServers()[0] ?? 'the system resolver';
  } catch {
    return 'the system resolver';
  }
}

/** Results for a name that did not resolve: its ports were not dialled, and why. */
function unresolved(resolution: NameResolution, entry: string, ports: readonly PortEntry[]): EgressResult[] {
  const code = resolution.error?.code;
  const reason = code === 'ENOTFOUND' ? 'no-such-name' : code === FORGED_ANSWER ? 'forged-answer' : 'dns-no-answer';
  return ports.map((port) => ({
    host: resolution.name,
    name: resolution.name,
    entry,
    ...port,
    state: 'untested',
    reason,
    ms: resolution.ms,
    attempts: 0,
  }));
}

/** The plan for a manifest's outbound entries; resolves their names. */
export async function planForManifest(
  entries: readonly ManifestEntry[],
  service: EgressService | undefined,
  /** Why there is no service, when one was needed: its entries are then untested, for that reason. */
  serviceProblem?: string,
): Promise<EgressPlan> {
  const targets: SweepTarget[] = [];
  const untested: EgressResult[] = [];
  const names: NameResolution[] = [];
  const outbound = entries.filter((item) => item.direction === 'outbound');
  // A made-up name in the zone of the first manifest name, asked beside the real ones: a
  // resolver that answers it answers for anyone, and its answers prove nothing.
  const firstName = outbound.flatMap((entry) => entry.peers).find((peer) => peer.kind === 'fqdn');
  const canaryLookup = firstName ? resolveName(canaryName(firstName.text)) : Promise.resolve(undefined);
  for (const entry of outbound.filter((item) => !isResolverNeed(item))) {
    if (entry.peers.length === 0) {
      if (!service) {
        // Said, not dropped: without the checker's listener these ports cannot be tested.
        if (serviceProblem)
          for (const port of portEntries(entry.ports))
            untested.push({
              host: '',
              entry: entry.name,
              ...port,
              state: 'untested',
              reason: serviceProblem,
              ms: 0,
              attempts: 0,
            });
        continue;
      }
      const planned = againstService(service, entry.ports, entry.name);
      if (planned.target.entries.length > 0) targets.push(planned.target);
      untested.push(...planned.untested);
      continue;
    }
    const ports = [...portEntries(entry.ports)];
    const [asked, dnsCanary] = await Promise.all([
      Promise.all(
        entry.peers.map((peer) =>
          peer.kind === 'fqdn'
            ? resolveName(peer.text, entry.name)
            : peer.cidr.prefix === (peer.cidr.address.family === 4 ? 32 : 128)
              ? Promise.resolve({ name: peer.text, entry: entry.name, addresses: [formatIp(peer.cidr.address)], ms: 0 })
              : Promise.resolve({ name: peer.text, entry: entry.name, addresses: [], ms: 0 }),
        ),
      ),
      canaryLookup,
    ]);
    const judged = judgeNamesByCanary(asked, dnsCanary);
    const resolutions = asked.map(
      (resolution, index): NameResolution =>
        entry.peers[index]?.kind === 'fqdn' ? (judged[index] ?? resolution) : resolution,
    );
    for (const [index, resolution] of resolutions.entries()) {
      const peer = entry.peers[index];
      if (peer?.kind === 'fqdn') {
        names.push(resolution);
        // A name that does not resolve is a DNS failure of its own, never a port verdict.
        if (resolution.error) untested.push(...unresolved(resolution, entry.name, ports));
      }
      if (peer?.kind === 'cidr' && resolution.addresses.length === 0) {
        for (const port of ports) {
          untested.push({
            host: peer.text,
            entry: entry.name,
            ...port,
            state: 'untested',
            reason: 'range-not-host',
            ms: 0,
            attempts: 0,
          });
        }
      }
      for (const address of resolution.addresses) {
        targets.push({
          host: address,
          ...(peer?.kind === 'fqdn' ? { name: peer.text } : {}),
          entry: entry.name,
          entries: ports,
          handshake: 'connect',
        });
      }
    }
  }
  const resolver = systemResolver();
  for (const entry of outbound.filter(isResolverNeed)) untested.push(...judgeResolverNeed(entry, names, resolver));
  const dnsCanary = await canaryLookup;
  return { targets, untested, names, ...(dnsCanary ? { dnsCanary } : {}) };
}

/**
 * True when some outbound entry has no hosts, so a listener (--checker/--target) is needed.
 * The resolver need is judged by resolution and needs none.
 */
export function needsService(entries: readonly ManifestEntry[]): boolean {
  return entries.some((entry) => entry.direction === 'outbound' && entry.peers.length === 0 && !isResolverNeed(entry));
}
