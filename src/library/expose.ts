/**
 * `expose`: make the manifest's exposed ports reachable and prove it, by walking the roads in
 * order (a direct mapping, an IPv6 pinhole, a relay) until one is proven or is the last that can
 * be tried. A road whose report says it cannot work here is closed (everything it made removed)
 * before the next is tried. With `keep`, the road taken is kept up until the signal aborts, then
 * undone; without, what it made stays by design (mappings recorded for `porthole unmap`).
 */

import { PortholeError } from '../errors/index.js';
import { doctorOptionsOf, type RunInputs, relaySettingsOf } from './inputs.js';
import { type NameFollowing, type NamePass, prepareNameFollowing } from './nameFollow.js';
import type { RoadName } from './progress.js';
import { directRoad } from './roads/direct.js';
import { doubleNatRoad } from './roads/doubleNat.js';
import { ipv6Road } from './roads/ipv6.js';
import { relayRoad } from './roads/relay.js';
import { assertRouterCanHold } from './roads/requests.js';
import type { ExposeRequest, Road, RoadContext, RoadOutcome, RoadReport } from './roads/types.js';
import { type LeftBehind, RunSession, type SessionOptions } from './session.js';

/** The roads, in the order tried. A new road is one file in roads/ and one entry here. */
export const ROADS: readonly Road[] = [directRoad, doubleNatRoad, ipv6Road, relayRoad];

/** What expose did: the last report of the road taken, what it made, and the roads tried before it. */
export interface ExposeResult extends RoadReport, Omit<RoadOutcome, 'notes' | 'give'> {
  /** The road taken. */
  readonly road: RoadName;
  /** Whether it was kept up until interrupted. */
  readonly kept: boolean;
  /** What to give users, once proven: `203.0.113.1:7001/tcp`. */
  readonly give: readonly string[];
  /** Plain sentences about the road taken (why, and what users need). */
  readonly notes: readonly string[];
  /** The roads tried before the one taken, and why each was left or could not be used. */
  readonly tried: readonly { readonly road: RoadName; readonly because: string }[];
  /** What could not be removed on the way out (with why): still on the router until its lease ends. */
  readonly leftBehind: readonly LeftBehind[];
  /** Why the direct road was left for the relay (the causes the doctor found, or the mapping error). */
  readonly relayBecause?: string;
  /** Why IPv4 was left for IPv6. */
  readonly ipv6Because?: string;
  /** The DNS name set once on the public address (followName without keep). */
  readonly name?: NamePass;
  /** The DNS name kept on the public address while kept: checks and updates sent while kept, and the refusal that ended the name's loop, if one did. */
  readonly nameKept?: { readonly rounds: number; readonly updates: number; readonly error?: string };
}

/** The roads a request allows, in order: a relay only, IPv6 only, or all of them. */
function roadsFor(request: ExposeRequest): readonly Road[] {
  if (request.relay?.only) return ROADS.filter((road) => road.name === 'relay');
  if (request.family === 'ipv6') return ROADS.filter((road) => road.name === 'ipv6');
  return ROADS;
}

/** Whether any road after `index` could be tried: only then is a road that cannot work left for it. */
async function laterUsable(roads: readonly Road[], index: number, context: RoadContext): Promise<boolean> {
  for (const road of roads.slice(index + 1)) if ((await road.usable(context)).usable) return true;
  return false;
}

/**
 * Runs expose in a session that exists (the command line's, the page's): walks the roads, keeps
 * the one taken when asked. Rejects when no road could be opened (the last road's error, with the
 * roads tried in `data.tried`); a road that opened but is not proven is a result, not an error.
 */
export async function exposeIn(session: RunSession, request: ExposeRequest): Promise<Omit<ExposeResult, 'leftBehind'>> {
  const started = performance.now();
  // Decided before any router is asked: a table no router holds is refused whole, never half made.
  if (!request.relay?.only) assertRouterCanHold(request.manifest.entries);
  const roads = roadsFor(request);
  const before: { road: RoadName; because: string; report?: RoadReport }[] = [];
  // When no road opens, the first road's failure is the one to report (the direct road's says most
  // about this network; a later road's is often only that it could not be tried here); all are in `tried`.
  let firstError: unknown;
  for (const [index, road] of roads.entries()) {
    const context: RoadContext = { session, request, before };
    const usable = await road.usable(context);
    if (!usable.usable) {
      before.push({ road: road.name, because: usable.why });
      session.progress({ kind: 'road', road: road.name, state: 'not-usable', because: usable.why });
      continue;
    }
    session.progress({ kind: 'road', road: road.name, state: 'trying' });
    let opened: Awaited<ReturnType<Road['open']>>;
    try {
      opened = await road.open(context);
    } catch (error) {
      if (session.signal?.aborted) throw error;
      firstError ??= error;
      const because = `${road.name === 'direct' ? 'IPv4 mapping' : `the ${road.name} road`} failed: ${(error as Error).message}`;
      before.push({ road: road.name, because });
      session.progress({ kind: 'road', road: road.name, state: 'failed', because });
      continue;
    }
    session.progress({ kind: 'road', road: road.name, state: 'opened' });
    let report: RoadReport;
    try {
      report = await opened.verify();
      // Interrupted while checking from outside: the run ends E_ABORTED and the road is undone,
      // never kept or left in place on a half-made verdict.
      session.throwIfAborted();
    } catch (error) {
      await opened.close();
      if (session.signal?.aborted) throw error;
      // A road that cannot be checked is left like one that failed to open: the next road is tried.
      firstError ??= error;
      const because = `the ${road.name} road could not be checked from outside: ${(error as Error).message}`;
      before.push({ road: road.name, because });
      session.progress({ kind: 'road', road: road.name, state: 'failed', because });
      continue;
    }
    const closed = opened.closedBecause(report);
    // A later road sees this one's report as it will when tried (the double-NAT road reads it).
    const ending = { road: road.name, because: closed ?? '', report };
    if (closed !== undefined && (await laterUsable(roads, index, { ...context, before: [...before, ending] }))) {
      await opened.close();
      before.push({ road: road.name, because: closed, report });
      session.progress({ kind: 'road', road: road.name, state: 'left', because: closed });
      continue;
    }
    session.progress({ kind: 'road', road: road.name, state: 'taken' });
    if (request.keep) report = await opened.keep(report);
    else await opened.leave();
    const outcome = opened.outcome(report, request.keep);
    const tried = before.map(({ road: name, because }) => ({ road: name, because }));
    const becauseText = tried.map((t) => t.because).join('; ');
    return {
      ...report,
      ...outcome,
      road: road.name,
      kept: request.keep,
      tried,
      ms: Math.round(performance.now() - started),
      ...(outcome.mode === 'relay'
        ? { relayBecause: request.relay?.only ? 'asked for (--relay-only)' : becauseText }
        : {}),
      ...(outcome.family === 6
        ? { ipv6Because: request.family === 'ipv6' ? 'asked for (--family ipv6)' : becauseText }
        : {}),
    };
  }
  if (firstError instanceof Error) {
    const coded = firstError as Error & { data?: Record<string, unknown> };
    coded.data = { ...coded.data, tried: before.map(({ road, because }) => ({ road, because })) };
    throw firstError;
  }
  throw (
    firstError ?? new PortholeError('E_NO_ROAD', { detail: before.map((b) => `${b.road}: ${b.because}`).join('; ') })
  );
}

/** What to expose, and how. */
export interface ExposeOptions
  extends RunInputs,
    Omit<SessionOptions, 'purpose'>,
    Partial<Omit<ExposeRequest, 'manifest' | 'relay' | 'checker' | 'stun' | 'name'>> {
  /** A DNS name to keep on the public address while exposed (with its update method). */
  readonly followName?: NameFollowing;
  /** The relay's settings beyond its URL (`relay` is the URL). */
  readonly relayOnly?: boolean;
  readonly proxyProtocol?: 'v1' | 'v2';
  readonly identityFile?: string;
  readonly dataDir?: string;
}

/** A lease long enough to outlive a short session; kept mappings are renewed at half of it. */
const DEFAULT_LEASE_SECONDS = 7200;
/** With keep: the path is re-verified from outside this often. */
const DEFAULT_VERIFY_SECONDS = 300;

/**
 * Makes the ports reachable and proves it, over the first road that works (direct mapping, IPv6
 * pinhole, relay). The router is discovered once for the whole run. Everything made is recorded
 * before it is asked for; on failure or interruption, what was made is removed, and what could not
 * be is in `leftBehind` (or the error's `data.leftBehind`).
 */
export async function expose(options: ExposeOptions): Promise<ExposeResult> {
  // The name's loop looks again at once when a keeper hears the public address move.
  const nameWake = new EventTarget();
  const session = new RunSession({
    ...options,
    purpose: 'diagnose',
    onProgress: (event) => {
      options.onProgress?.(event);
      if (event.kind === 'address-changed') nameWake.dispatchEvent(new Event('wake'));
    },
  });
  // Ends the name's loop when expose fails before the run is interrupted.
  const stopNaming = new AbortController();
  let nameLoop: Promise<{ rounds: number; updates: number; error?: string }> | undefined;
  try {
    const doctor = await doctorOptionsOf(options, session.env);
    const relay = await relaySettingsOf(
      {
        ...(typeof options.relay === 'string' ? { url: options.relay } : {}),
        ...(options.relayOnly ? { only: true } : {}),
        ...(options.proxyProtocol ? { proxyProtocol: options.proxyProtocol } : {}),
        ...(options.identityFile ? { identityFile: options.identityFile } : {}),
        ...(options.dataDir ? { dataDir: options.dataDir } : {}),
      },
      session.env,
    );
    const keep = options.keep ?? false;
    if (keep && !session.signal)
      throw new PortholeError('E_USAGE', {
        detail: 'expose with keep needs a signal: keeping ends when it aborts',
        hint: 'Pass { keep: true, signal } and abort the signal to stop keeping (and remove what was made).',
      });
    // The name's settings are read before anything is made: bad ones end expose with their error.
    const naming = options.followName ? await prepareNameFollowing(session, options.followName, doctor) : undefined;
    // With keep, the name follows the address for as long as the road is kept; without, one pass.
    nameLoop =
      naming && keep
        ? naming.keep(AbortSignal.any([stopNaming.signal, ...(session.signal ? [session.signal] : [])]), nameWake)
        : undefined;
    const result = await exposeIn(session, {
      ...doctor,
      keep,
      lifetimeSeconds: options.lifetimeSeconds ?? DEFAULT_LEASE_SECONDS,
      verifyEverySeconds: options.verifyEverySeconds ?? DEFAULT_VERIFY_SECONDS,
      ...(options.openFirewall ? { openFirewall: true } : {}),
      ...(options.via ? { via: options.via } : {}),
      ...(options.family ? { family: options.family } : {}),
      ...(options.checker6 ? { checker6: options.checker6 } : {}),
      ...(relay ? { relay } : {}),
    });
    const name = naming && !keep ? await naming.once() : undefined;
    const nameKept = await nameLoop;
    return {
      ...result,
      ...(name ? { name } : {}),
      ...(nameKept ? { nameKept } : {}),
      leftBehind: await session.close(),
    };
  } catch (error) {
    stopNaming.abort();
    await nameLoop?.catch(() => {});
    const leftBehind = await session.close();
    if (leftBehind.length > 0 && error instanceof Error) {
      const coded = error as Error & { data?: Record<string, unknown> };
      coded.data = { ...coded.data, leftBehind };
    }
    throw error;
  }
}
