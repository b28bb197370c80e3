/**
 * Keeping a mapping alive: renew at half its lifetime; notice a router restart (NAT-PMP/PCP
 * epoch lower than elapsed time allows, or the UPnP mapping gone) and re-make the mapping;
 * remove it on abort. Every outcome goes through one place that removes the mapping.
 */
import { type AbortOptions, sleepOrWake } from '../deadline/index.js';
import type { Mapping, MappingClient } from './types.js';

/** Something the keeper did, for status lines. */
export type KeeperEvent =
  | { readonly kind: 'renewed'; readonly mapping: Mapping }
  | { readonly kind: 'router-restarted'; readonly mapping: Mapping; readonly evidence: string }
  | { readonly kind: 'remade'; readonly mapping: Mapping; readonly evidence: string }
  /** The router's external address moved (an ISP's new lease, a WAN reconnect): users need the new one. */
  | {
      readonly kind: 'address-changed';
      readonly mapping: Mapping;
      readonly from: string;
      readonly to: string;
      readonly evidence: string;
    }
  | { readonly kind: 'renew-failed'; readonly error: string }
  | { readonly kind: 'removed'; readonly mapping: Mapping }
  | { readonly kind: 'remove-failed'; readonly error: string };

/** Options for keepMapping. */
export interface KeeperOptions extends AbortOptions {
  /** How often a permanent (lifetime 0) UPnP mapping is checked, seconds. */
  readonly checkIntervalSeconds?: number;
  readonly onEvent?: (event: KeeperEvent) => void;
  /** A `wake` event here checks (renews) at once: expose sends it when its check from outside fails. */
  readonly wake?: EventTarget;
  /**
   * The router's restart and address announcements (announcements.ts) wake the keeper too: heard
   * on 224.0.0.1:5350 by default, on 127.0.0.1:`port` in tests, not at all with `false`.
   */
  readonly announcements?: false | { readonly port: number };
  /**
   * Whether the router still lists the mapping (its UPnP list): miniupnpd lists NAT-PMP and PCP
   * mappings there too, and a renewal alone cannot tell a mapping the router kept from one it
   * dropped while it ran (a clean-up of idle mappings) and makes again. Undefined: cannot say.
   */
  readonly listed?: (mapping: Mapping, options: AbortOptions) => Promise<boolean | undefined>;
}

/**
 * Every mapping is checked at least this often, to notice a router restart within 30 s: a NAT-PMP
 * or PCP renewal answers with the epoch (which restarts at 0), UPnP's GetSpecific says whether the
 * entry is still there. One small packet or request per interval.
 */
const DEFAULT_CHECK_SECONDS = 30;
/** RFC 6886 section 3.6: a client may allow the epoch to run 7/8 as fast as its own clock. */
const EPOCH_SLACK = 7 / 8;
/** Retry a failed renewal this soon rather than waiting a whole interval. */
const RETRY_SECONDS = 2;

/** When to renew next, seconds: half the lifetime (at least one second), and no later than the check interval. */
export function renewAfterSeconds(mapping: Mapping, checkIntervalSeconds = DEFAULT_CHECK_SECONDS): number {
  return mapping.lifetime > 0
    ? Math.max(1, Math.min(checkIntervalSeconds, Math.floor(mapping.lifetime / 2)))
    : checkIntervalSeconds;
}

/** Whether an epoch shows the server restarted since `previous` was seen `elapsedSeconds` ago. */
export function epochShowsRestart(previous: number, current: number, elapsedSeconds: number): boolean {
  return current < previous || current + 1 < previous + elapsedSeconds * EPOCH_SLACK;
}

/**
 * Renews until `signal` aborts, then removes the mapping and resolves with the last mapping.
 * Renewal failures are reported and retried; they never end the keeping.
 */
export async function keepMapping(
  client: MappingClient,
  first: Mapping,
  keeperOptions: KeeperOptions,
): Promise<Mapping> {
  let mapping = first;
  let seenAt = performance.now();
  const emit = (event: KeeperEvent) => keeperOptions.onEvent?.(event);
  // Listening ends with the keeper; the announcements wake this keeper (and those sharing `wake`).
  const listening = new AbortController();
  const options: KeeperOptions = { ...keeperOptions, wake: keeperOptions.wake ?? new EventTarget() };
  if (options.announcements !== false && first.family !== 6 && !first.gateway.includes(':')) {
    const { listenForAnnouncements } = await import('./announcements.js');
    await listenForAnnouncements(options.wake as EventTarget, {
      gateway: first.gateway,
      localAddress: first.internalAddress,
      signal: listening.signal,
      ...(options.announcements ? { port: options.announcements.port } : {}),
    });
  }
  // After a failed renewal the next try comes RETRY_SECONDS later, not a whole interval later (a
  // router still settling after a WAN reconnect refused one renewal, and the mapping stayed gone 30 s).
  let retrySoon = false;
  try {
    while (!options.signal?.aborted) {
      const wait = retrySoon ? RETRY_SECONDS : renewAfterSeconds(mapping, options.checkIntervalSeconds);
      retrySoon = false;
      await sleepOrWake(wait * 1000, options);
      if (options.signal?.aborted) break; // Aborted: fall through to removal.
      try {
        const elapsed = (performance.now() - seenAt) / 1000;
        const before = mapping;
        // Asked before the renewal, which would make a dropped mapping again and hide it.
        const listed =
          client.method === 'upnp' && 'getSpecific' in client
            ? (await (
                client as MappingClient & {
                  getSpecific: (p: 'tcp' | 'udp', e: number, o: AbortOptions) => Promise<unknown>;
                }
              ).getSpecific(mapping.protocol, mapping.externalPort, options)) !== undefined
            : await options.listed?.(mapping, options).catch(() => undefined);
        mapping = await client.renew(mapping, options);
        const restarted =
          before.epoch !== undefined &&
          mapping.epoch !== undefined &&
          epochShowsRestart(before.epoch, mapping.epoch, elapsed);
        const moved = Boolean(before.externalIp && mapping.externalIp && before.externalIp !== mapping.externalIp);
        if (moved) {
          // Named for what it is: a PCP server resets its epoch when its address changes (RFC 6887
          // section 8.5), which alone would read as a restart.
          emit({
            kind: 'address-changed',
            mapping,
            from: before.externalIp,
            to: mapping.externalIp,
            evidence: `the router's external address went from ${before.externalIp} to ${mapping.externalIp}${restarted ? ` (its ${client.method === 'pcp' ? 'PCP' : 'NAT-PMP'} epoch restarted with it, from ${before.epoch} to ${mapping.epoch} s)` : ''}`,
          });
        } else if (restarted) {
          emit({
            kind: 'router-restarted',
            mapping,
            evidence: `epoch went from ${before.epoch} to ${mapping.epoch} in ${Math.round(elapsed)} s`,
          });
        } else if (listed === false) {
          emit({
            kind: 'remade',
            mapping,
            evidence:
              client.method === 'upnp'
                ? 'the router no longer listed the mapping (restarted or expired)'
                : `the router no longer listed the mapping while it ran (epoch ${mapping.epoch ?? '?'} s, no restart): it dropped it (a clean-up of idle mappings, or its table reset); renewed, it is made again`,
          });
        } else emit({ kind: 'renewed', mapping });
        seenAt = performance.now();
      } catch (error) {
        if (options.signal?.aborted) break;
        emit({ kind: 'renew-failed', error: (error as Error).message });
        retrySoon = true;
      }
    }
  } finally {
    listening.abort();
    // One removal path for every way out: abort, error, or a thrown renewal.
    try {
      await client.unmap(mapping);
      emit({ kind: 'removed', mapping });
    } catch (error) {
      emit({ kind: 'remove-failed', error: (error as Error).message });
    }
  }
  return mapping;
}
