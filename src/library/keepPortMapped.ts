/** `keepPortMapped`: a mapping kept while your server runs, renewed and re-made, removed on close. */
import { EventEmitter } from 'node:events';
import { PortholeError } from '../errors/index.js';
import type { KeeperEvent } from '../gateway/index.js';
import { holdMapping } from './heldMapping.js';
import { type MapPortOptions, mapRequestOf, type PortMapping } from './mapPort.js';
import { findOuterRouter, holdPair } from './outerMapping.js';
import { RunSession } from './session.js';

/** The events a {@link PortKeeper} emits. */
export interface PortKeeperEvents {
  /** The lease was renewed (before the granted lifetime ends). */
  renewed: [mapping: PortMapping];
  /** The router forgot the mapping (restart, expiry) and it was made again; `evidence` says how that was seen. */
  remapped: [mapping: PortMapping, evidence: string];
  /** A renewal failed: the mapping may be gone until a later renewal succeeds (retried every 2 s). */
  lost: [error: PortholeError];
  /** The mapping was removed from the router (after `close()` or an aborted signal). */
  removed: [mapping: PortMapping];
  /** Removing the mapping failed; it stays recorded for `porthole cleanup`. Only emitted when listened to. */
  error: [error: PortholeError];
}

/** Options for keepPortMapped: those of mapPort, plus how often a permanent UPnP mapping is checked. */
export interface KeepPortMappedOptions extends Omit<MapPortOptions, 'record'> {
  /** How often a permanent (lifetime 0) UPnP mapping is checked, seconds (default 30). */
  readonly checkIntervalSeconds?: number;
}

/**
 * A kept mapping. Listen for `renewed`, `remapped`, `lost`, `removed` and `error`; end it with
 * `await keeper.close()` or `await using keeper = await keepPortMapped(...)`.
 */
export class PortKeeper extends EventEmitter<PortKeeperEvents> {
  #mapping: PortMapping;
  readonly #stop: AbortController;
  /** Settles once the mapping is removed: with the last mapping, or E_CLEANUP_FAILED. */
  readonly closed: Promise<PortMapping>;

  /** @internal Made by keepPortMapped. */
  constructor(first: PortMapping, stop: AbortController, run: (keeper: PortKeeper) => Promise<PortMapping>) {
    super();
    this.#mapping = first;
    this.#stop = stop;
    this.closed = run(this);
    // The outcome is reported by close(); an unobserved rejection must not crash the process.
    this.closed.catch(() => {});
  }

  /** The mapping as it stands now (the external port can change when the router re-made it). */
  get mapping(): PortMapping {
    return this.#mapping;
  }

  /** @internal */
  setMapping(mapping: PortMapping): void {
    this.#mapping = mapping;
  }

  /** Stops renewing and removes the mapping from the router; resolves with the last mapping. */
  close(): Promise<PortMapping> {
    this.#stop.abort(new PortholeError('E_ABORTED', { detail: 'the port keeper was closed' }));
    return this.closed;
  }

  /** `await using` support: the same as close(). */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** A keeper event as the PortKeeper's events. */
function emitAs(keeper: PortKeeper, event: KeeperEvent): void {
  if ('mapping' in event && event.kind !== 'removed')
    keeper.setMapping(keeper.mapping.outer ? { ...event.mapping, outer: keeper.mapping.outer } : event.mapping);
  if (event.kind === 'renewed') keeper.emit('renewed', event.mapping);
  else if (event.kind === 'remade' || event.kind === 'router-restarted' || event.kind === 'address-changed')
    keeper.emit('remapped', event.mapping, event.evidence);
  else if (event.kind === 'renew-failed')
    keeper.emit('lost', new PortholeError('E_GATEWAY_REFUSED', { detail: `renewal failed: ${event.error}` }));
  else if (event.kind === 'removed') keeper.emit('removed', event.mapping);
}

/**
 * Maps a port and keeps it mapped until `close()` or until `signal` aborts: renews before the
 * granted lease ends, notices a router restart (NAT-PMP/PCP epoch, UPnP list, the router's own
 * announcement) and re-makes the mapping, then removes it. Rejects like mapPort when the first
 * mapping cannot be made. While it runs, the mapping is recorded with this process's pid, so that if
 * the process is killed before it can remove the mapping, `porthole cleanup` removes it later.
 */
export async function keepPortMapped(options: KeepPortMappedOptions): Promise<PortKeeper> {
  const request = mapRequestOf(options);
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  const session = new RunSession({ ...options, signal, purpose: 'map' });
  let held: Awaited<ReturnType<typeof holdMapping>>;
  let outer: Awaited<ReturnType<typeof holdMapping>> | undefined;
  try {
    const via = options.via ? { via: options.via } : {};
    if (options.outer !== undefined) {
      const address = typeof options.outer === 'string' ? options.outer : await findOuterRouter(session);
      ({ inner: held, outer } = await holdPair(session, request, address, via));
    } else held = await holdMapping(session, request, via);
  } catch (error) {
    await session.close();
    throw error;
  }
  const first: PortMapping = outer ? { ...held.mapping, outer: outer.mapping } : held.mapping;
  return new PortKeeper(first, stop, async (keeper) => {
    const interval = options.checkIntervalSeconds ? { checkIntervalSeconds: options.checkIntervalSeconds } : {};
    // Both routers' mappings are kept together and removed together.
    const [kept, keptOuter] = await Promise.all([
      held.keep({ ...interval, onEvent: (event) => emitAs(keeper, event) }),
      outer?.keep(interval),
    ]);
    await session.close();
    if (keptOuter && !keptOuter.removed && kept.removed) {
      const error = new PortholeError('E_CLEANUP_FAILED', {
        detail: `the outer mapping ${keptOuter.mapping.externalIp}:${keptOuter.mapping.externalPort}/${keptOuter.mapping.protocol} (${keptOuter.mapping.method}): ${keptOuter.why ?? 'not confirmed'}`,
      });
      if (keeper.listenerCount('error') > 0) keeper.emit('error', error);
      throw error;
    }
    if (!kept.removed) {
      // The record stays: `porthole cleanup` tries again once this process is gone.
      const error = new PortholeError('E_CLEANUP_FAILED', {
        detail: `the mapping ${kept.mapping.externalIp}:${kept.mapping.externalPort}/${kept.mapping.protocol} (${kept.mapping.method}): ${kept.why ?? 'not confirmed'}`,
      });
      if (keeper.listenerCount('error') > 0) keeper.emit('error', error);
      throw error;
    }
    return kept.mapping;
  });
}
