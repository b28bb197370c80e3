/**
 * `discover()`: every protocol on every interface at once, answers as an async iterator,
 * de-duplicated, until the timeout or the caller's signal. Leaving the loop early, an abort
 * or the deadline all go through one cleanup path that closes every socket.
 */
import { type AbortOptions, abortReason, throwIfAborted } from '../deadline/index.js';
import { listInterfaces, type NetworkInterface } from '../net/index.js';
import { planSockets } from './interfaces.js';
import { PROBE_SCHEDULE_MS, type Session, type SessionQuery, startSession } from './session.js';
import { SSDP_ALL, SSDP_MX_MS } from './ssdpCodec.js';
import { DISCOVERY_PROTOCOLS, type DiscoveryAnswer, type DiscoveryProtocol, type ProbeTarget } from './types.js';
import { DPWS_DEVICE_TYPE, ONVIF_TYPE } from './wsdCodec.js';

/** Options for discover(). */
export interface DiscoverOptions extends AbortOptions {
  /** Which protocols (default: all three). */
  readonly protocols?: readonly DiscoveryProtocol[];
  /**
   * What to look for; each type goes to the protocol its shape names: `_x._tcp` is DNS-SD,
   * `urn:…`, `ssdp:…` or `upnp:…` is an SSDP search target, any other `prefix:Name` a
   * WS-Discovery type. A protocol given no type looks for everything it can.
   */
  readonly types?: readonly string[];
  /** Interface names (default: every non-loopback interface). */
  readonly interfaces?: readonly string[];
  /** Families to use (default both). */
  readonly families?: readonly (4 | 6)[];
  /** The longest discovery listens for answers, ms. */
  readonly timeoutMs?: number;
  /**
   * Ends earlier once nothing new has come for this long after the last probe, the last new
   * answer and the last follow-up question (ms); 0 listens for the whole timeout.
   */
  readonly quietMs?: number;
  /** Undecodable datagrams and socket errors. */
  readonly onWarning?: (warning: string) => void;
  /** Tests: unicast destinations instead of the multicast groups. */
  readonly targets?: Partial<Record<DiscoveryProtocol, ProbeTarget>>;
  /** Tests: the interfaces to choose from (default: this host's). */
  readonly available?: readonly NetworkInterface[];
}

/**
 * Long enough for the slowest responder the lab runs: wsdd waits up to 250 ms before its
 * ProbeMatch and again before its ResolveMatch, and DNS-SD needs up to three round trips.
 */
export const DEFAULT_DISCOVERY_TIMEOUT_MS = 1500;
/**
 * Quiet time that ends a discovery early. Responders answer within a few hundred ms (avahi
 * 20-120 ms, RFC 6762 6; wsdd 50-250 ms per message). SSDP devices may wait up to MX, so a run
 * that asks SSDP never ends before MX has passed. `quietMs: 0` listens for the whole timeout.
 */
export const DEFAULT_QUIET_MS = 400;
/**
 * How much longer a run waits, once, for devices that answered a Probe but whose Resolve is still
 * unanswered: the device is known to be there, and a busy host (wsdd is Python) can take more than
 * a second over the two messages (each up to APP_MAX_DELAY, 500 ms, SOAP-over-UDP 3.1.3).
 */
export const WSD_RESOLVE_GRACE_MS = 1000;
/** Time for the last answer within MX to cross the LAN and be read. */
const SSDP_MX_SLACK_MS = 100;

/** Sorts `--type` values to protocols by their shape. Pure. */
export function typesByProtocol(types: readonly string[]): Record<DiscoveryProtocol, string[]> {
  const sorted: Record<DiscoveryProtocol, string[]> = { ssdp: [], mdns: [], wsd: [] };
  for (const type of types) {
    const mdns = /^(_[^.]+\._(?:tcp|udp))(?:\.local\.?)?$/i.exec(type);
    if (mdns?.[1]) sorted.mdns.push(mdns[1]);
    else if (/^(urn|ssdp|upnp|uuid):/i.test(type)) sorted.ssdp.push(type);
    else sorted.wsd.push(type);
  }
  return sorted;
}

/** The identity of an answer for de-duplication: the same thing heard twice is one answer. */
function answerKey(answer: DiscoveryAnswer): string {
  return [answer.protocol, answer.name, answer.type, answer.address, answer.port, answer.interface].join('\u0000');
}

/** Asks the LAN what announces itself; yields each distinct answer once, as it arrives. */
export async function* discover(options: DiscoverOptions = {}): AsyncGenerator<DiscoveryAnswer, void, undefined> {
  throwIfAborted(options.signal);
  const byType = typesByProtocol(options.types ?? []);
  const typed = (options.types ?? []).length > 0;
  // With types given, only the protocols they name are asked (unless protocols are named too).
  const protocols =
    options.protocols ?? (typed ? DISCOVERY_PROTOCOLS.filter((p) => byType[p].length > 0) : DISCOVERY_PROTOCOLS);
  const query: SessionQuery = {
    protocols,
    ssdpTypes: byType.ssdp.length > 0 ? byType.ssdp : [SSDP_ALL],
    mdnsTypes: byType.mdns,
    wsdTypes: byType.wsd.length > 0 ? byType.wsd : [ONVIF_TYPE, DPWS_DEVICE_TYPE],
    ...(options.targets ? { targets: options.targets } : {}),
  };
  const plans = planSockets(options.available ?? listInterfaces(), {
    ...(options.interfaces ? { names: options.interfaces } : {}),
    ...(options.families ? { families: options.families } : {}),
    ...(process.env.PORTHOLE_ONLY_GATEWAYS ? { only: process.env.PORTHOLE_ONLY_GATEWAYS } : {}),
  });

  const queue: DiscoveryAnswer[] = [];
  const seen = new Set<string>();
  let wake: (() => void) | undefined;
  let finished = false;
  const finish = () => {
    finished = true;
    wake?.();
  };
  const sessions: Session[] = [];
  const pendingResolves = () => sessions.reduce((sum, session) => sum + session.pending(), 0);
  let timer = setTimeout(() => {
    // A device that said it is here is worth one bounded wait for its address.
    if (pendingResolves() === 0) return finish();
    timer = setTimeout(finish, WSD_RESOLVE_GRACE_MS);
  }, options.timeoutMs ?? DEFAULT_DISCOVERY_TIMEOUT_MS);
  const quietMs = options.quietMs ?? DEFAULT_QUIET_MS;
  const started = performance.now();
  // Never before every device has had its MX to answer the first M-SEARCH (later ones only repeat it).
  const floor = Math.max(
    (PROBE_SCHEDULE_MS[PROBE_SCHEDULE_MS.length - 1] ?? 0) + quietMs,
    protocols.includes('ssdp') ? SSDP_MX_MS + SSDP_MX_SLACK_MS : 0,
  );
  let quiet: NodeJS.Timeout | undefined;
  const stillTalking = () => {
    if (quietMs === 0) return;
    clearTimeout(quiet);
    const elapsed = performance.now() - started;
    // Quiet does not end a run while a device's address is on its way: the hard deadline does.
    quiet = setTimeout(() => pendingResolves() === 0 && finish(), Math.max(quietMs, floor - elapsed));
  };
  stillTalking();
  options.signal?.addEventListener('abort', finish, { once: true });
  try {
    for (const plan of plans) {
      sessions.push(
        startSession(plan, query, {
          answer: (answer) => {
            const key = answerKey(answer);
            if (seen.has(key)) return;
            seen.add(key);
            stillTalking();
            queue.push(answer);
            wake?.();
          },
          warning: (warning) => options.onWarning?.(warning),
          activity: stillTalking,
        }),
      );
    }
    while (true) {
      const next = queue.shift();
      if (next) {
        yield next;
        continue;
      }
      if (finished) break;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
      wake = undefined;
    }
    if (options.signal?.aborted) throw abortReason(options.signal);
  } finally {
    clearTimeout(timer);
    clearTimeout(quiet);
    options.signal?.removeEventListener('abort', finish);
    for (const session of sessions) session.close();
  }
}

/** Collects every answer of one discovery run into a list (the CLI and the multicast checks use it). */
export async function discoverAll(options: DiscoverOptions = {}): Promise<DiscoveryAnswer[]> {
  const answers: DiscoveryAnswer[] = [];
  for await (const answer of discover(options)) answers.push(answer);
  return answers;
}
