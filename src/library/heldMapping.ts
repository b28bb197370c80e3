/**
 * The one mapping lifecycle (ask → record → keep → follow the router → undo), for an IPv4 port
 * mapping and an IPv6 pinhole alike. `map`, `keepPortMapped`, and expose's direct and IPv6 roads
 * all hold their mappings through here:
 *
 * - the request is recorded with this process's pid before the router is asked, so a SIGKILL at
 *   any moment leaves a record `porthole cleanup` acts on (a pinhole with the PCP nonce it is asked
 *   with: it cannot be listed, only deleted by it);
 * - the mapping is held by the run session, which removes it when the run ends, unless it is left
 *   on the router by design (`leave`: `map` without --keep) and recorded for `porthole unmap`;
 * - `keep` renews it, re-makes it after a router restart, follows the router's announcements, says
 *   every event as progress, and removes it when the run's signal aborts.
 */
import { randomBytes } from 'node:crypto';
import {
  enoughToMap,
  forgetMappings,
  type GatewayInfo,
  type KeeperEvent,
  keepMapping,
  listingOf,
  type Mapping,
  type MappingClient,
  type MappingMethod,
  type MappingRequest,
  mapPinhole,
  mappingStatePath,
  mapWithBest,
  recordMapping,
  withUpnp,
} from '../gateway/index.js';
import { askRecorded, type OwnedMapping } from './leftovers.js';
import type { Holding, RunSession } from './session.js';

/** How long removing a held mapping may take when a run ends (its own deadline, not the run's signal). */
const UNDO_TIMEOUT_MS = 5000;

/** What to hold: a mapping request, for IPv4 (a port mapping) or IPv6 (a pinhole). */
export interface HoldRequest extends MappingRequest {
  /** 6 for an IPv6 pinhole in the router's firewall; 4 (default) for a port mapping. */
  readonly family?: 4 | 6;
}

/** Options for holding a mapping. */
export interface HoldOptions {
  /** One protocol only (`pcp`, `natpmp`, `upnp`). */
  readonly via?: MappingMethod;
  /** Record it in porthole's state (mappings.json) while held, so `porthole mappings` lists it (default true). */
  readonly record?: boolean;
  /**
   * The router to ask (IPv4): by default this host's gateway, discovered once per run; the outer
   * router of a double NAT is asked this way, with the inner router's WAN address as the client.
   */
  readonly gateway?: GatewayInfo;
}

/** How a kept mapping ended. */
export interface KeptMapping {
  /** The mapping as it last stood (the router may have given another port when re-making it). */
  readonly mapping: Mapping;
  /** Removed from the router at the end; when false, `why` says what failed (the record stays for cleanup). */
  readonly removed: boolean;
  readonly why?: string;
}

/** Options for keeping. */
export interface KeepOptions {
  /** A `wake` event here renews at once (expose sends it when its check from outside fails). */
  readonly wake?: EventTarget;
  /** How often a permanent UPnP mapping is checked, seconds. */
  readonly checkIntervalSeconds?: number;
  /** Hears each keeper event (the session hears it too, as progress). */
  readonly onEvent?: (event: KeeperEvent) => void;
}

/** A mapping this run made and holds. */
export interface HeldMapping {
  /** The mapping as it stands now (re-made mappings may differ in port, nonce or pinhole id). */
  readonly mapping: Mapping;
  readonly client: MappingClient;
  /** Methods that refused before the one that worked, for --verbose. */
  readonly tried: readonly string[];
  /** Keeps it until the run's signal aborts, then removes it. */
  keep(options?: KeepOptions): Promise<KeptMapping>;
  /** Leaves it on the router by design (its lease ends it), recorded for `porthole unmap`. */
  leave(): void;
  /** Removes it now (the run no longer holds it). */
  remove(): Promise<void>;
}

/** How a mapping is named to a person. */
export function describeMapping(m: Mapping): string {
  if (m.family === 6) return `pinhole [${m.internalAddress}]:${m.internalPort}/${m.protocol} (${m.method})`;
  return `${m.externalIp || m.gateway}:${m.externalPort}/${m.protocol} -> ${m.internalAddress}:${m.internalPort} (${m.method})`;
}

/** The same mapping (gateway, protocol, ports), whatever its lease. */
export function sameMapping(a: Mapping, b: Mapping): boolean {
  return (
    a.protocol === b.protocol &&
    a.externalPort === b.externalPort &&
    a.internalPort === b.internalPort &&
    a.gateway === b.gateway &&
    (a.family ?? 4) === (b.family ?? 4)
  );
}

/** Asks the router (IPv4: the run's gateway, discovered once; IPv6: the pinhole gateway). */
async function ask(
  session: RunSession,
  request: HoldRequest,
  options: HoldOptions,
  beforeAsking: Parameters<Parameters<typeof askRecorded>[0]>[0],
): Promise<{ mapping: Mapping; client: MappingClient; tried: string[] }> {
  const { family, ...asked } = request;
  const via = options.via ? { via: options.via } : {};
  // The PCP nonce is chosen here so the record carries it before the router is asked: a process
  // killed before it saw the answer leaves a request `porthole cleanup` can delete by its nonce.
  const nonce = asked.nonce ?? randomBytes(12).toString('hex');
  if (family === 6) {
    return mapPinhole(
      { ...asked, external: undefined, nonce },
      {
        ...session.abort,
        ...(options.via && options.via !== 'natpmp' ? { via: options.via } : {}),
        discover: (discovery) => session.pinholeGateway(discovery),
        beforeAsking: (six) =>
          beforeAsking({
            gateway: six.address,
            family: 6,
            protocol: asked.protocol,
            internalPort: asked.internalPort,
            nonce,
          }),
      },
    );
  }
  const gateway = options.gateway ?? (await session.gateway(enoughToMap(options.via, asked)));
  beforeAsking({ gateway: gateway.address, protocol: asked.protocol, internalPort: asked.internalPort, nonce });
  return mapWithBest(gateway, { ...asked, nonce }, { ...session.abort, ...via });
}

/** The router's UPnP list as a keeper's way to see a dropped NAT-PMP/PCP mapping (IPv4 only). */
async function listingFor(session: RunSession, mapping: Mapping, options: HoldOptions) {
  if (mapping.family === 6 || mapping.method === 'upnp') return undefined;
  const gateway = options.gateway ?? (await session.gateway().catch(() => undefined));
  return gateway && gateway.address === mapping.gateway ? listingOf(await withUpnp(gateway, session.abort)) : undefined;
}

/**
 * Asks for a mapping and holds it in the run: recorded before the router is asked, removed when
 * the run closes unless kept (until the signal aborts) or left by design. Rejects as the router
 * refuses (E_GATEWAY_REFUSED, E_MAPPING_CONFLICT, E_NO_MAPPING_PROTOCOL, ...), recording nothing.
 */
export async function holdMapping(
  session: RunSession,
  request: HoldRequest,
  options: HoldOptions = {},
): Promise<HeldMapping> {
  const statePath = options.record === false ? undefined : mappingStatePath(session.env);
  const granted = await askRecorded((beforeAsking) => ask(session, request, options, beforeAsking), session.env);
  let current = granted.mapping;
  const owned: OwnedMapping = granted.owned;
  if (statePath) recordMapping(statePath, current);
  const forgetState = () => {
    if (statePath) forgetMappings(statePath, (stored) => sameMapping(stored, current));
  };
  const holding: Holding = session.hold(
    describeMapping(current),
    async () => {
      // Its own deadline, not the run's signal: undoing is what an interrupted run does (Ctrl-C
      // has already aborted that signal, and the removal must still go out).
      await granted.client.unmap(current, { signal: AbortSignal.timeout(UNDO_TIMEOUT_MS) });
      owned.done(true);
      forgetState();
    },
    current,
  );
  return {
    get mapping() {
      return current;
    },
    client: granted.client,
    tried: granted.tried,
    async keep(keepOptions: KeepOptions = {}): Promise<KeptMapping> {
      // The keeper removes the mapping itself when the signal aborts: the holding is its.
      holding.release();
      let removed = false;
      let why: string | undefined;
      const listed = await listingFor(session, current, options);
      const last = await keepMapping(granted.client, current, {
        ...session.abort,
        ...(listed ? { listed } : {}),
        ...(keepOptions.wake ? { wake: keepOptions.wake } : {}),
        ...(keepOptions.checkIntervalSeconds ? { checkIntervalSeconds: keepOptions.checkIntervalSeconds } : {}),
        ...(session.announcements !== undefined ? { announcements: session.announcements } : {}),
        onEvent: (event) => {
          owned.follow(event);
          if ('mapping' in event && event.kind !== 'removed') {
            if (statePath) {
              // Re-recorded at each renewal: the record's lease is what `porthole mappings` and
              // the doctor judge it by (a lease that ended is not renewed by them to ask).
              if (!sameMapping(event.mapping, current)) forgetState();
              recordMapping(statePath, event.mapping);
            }
            current = event.mapping;
          }
          if (event.kind === 'removed') removed = true;
          if (event.kind === 'remove-failed') why = event.error;
          keepOptions.onEvent?.(event);
          session.progress({ ...event, ...(current.family === 6 ? { family: 6 as const } : {}) });
        },
      });
      current = last;
      owned.done(removed);
      if (removed) forgetState();
      return { mapping: last, removed, ...(why !== undefined ? { why } : {}) };
    },
    leave() {
      holding.release();
      owned.done(true);
    },
    remove: () => holding.undo(),
  };
}
