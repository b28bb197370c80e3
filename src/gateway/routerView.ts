/**
 * The router's mappings as they really are: the router's own list (UPnP) merged with porthole's
 * records, each record confirmed live by the router before it is believed (a record outlives a
 * router restart; the router's answer does not). `mappings`, `unmap`, the doctor and expose all
 * read and remove mappings through here, so they agree on what exists.
 */
import type { AbortOptions } from '../deadline/index.js';
import { PortholeError, toPortholeError } from '../errors/index.js';
import type { GatewayInfo } from './discovery.js';
import { epochShowsRestart } from './keeper.js';
import { clientFor } from './mappingSession.js';
import { forgetMappings, readMappingState, type StoredMapping } from './state.js';
import type { Mapping, MappingEntry } from './types.js';

/** A mapping as seen now, with who said so and whether the router confirmed it. */
export interface SeenMapping extends MappingEntry {
  /** Who reported it: `the router (UPnP list)`, `the router (NAT-PMP renewal)`, `porthole's record (pcp)`. */
  readonly source: string;
  /** It points at this host. */
  readonly mine: boolean;
  /** porthole made it (a record of ours). */
  readonly porthole: boolean;
  /** true: the router confirmed it now; false: the router does not have it (the record is stale); null: not asked. */
  readonly live: boolean | null;
  /** When a lease ends (ISO time), for leased mappings porthole made or renewed just now. */
  readonly expiresAt?: string;
  /** What the confirmation found, for evidence. */
  readonly note?: string;
  /**
   * `renewal`: confirmed by renewing it (NAT-PMP and PCP cannot be read otherwise): a write to the
   * router, which whoever asked must say.
   */
  readonly confirmedBy?: 'renewal';
  /** The router had lost the mapping and the renewal made it again; how that was seen (the epoch). */
  readonly lost?: string;
}

/** Options for seeing mappings. */
export interface SeeOptions extends AbortOptions {
  /** porthole's record of made mappings (mappingStatePath()). */
  readonly statePath?: string | undefined;
  /**
   * Confirm NAT-PMP/PCP records with the router by renewing them (RFC 6886 and 6887 have no
   * "list": a renewal is the only question the router answers about a mapping). Off, records
   * those protocols made are shown unconfirmed (`live: null`).
   */
  readonly confirm?: boolean;
  /**
   * Which records may be confirmed by renewal (the ports being diagnosed); others are shown
   * unconfirmed. Default: every record.
   */
  readonly confirmOnly?: (stored: StoredMapping) => boolean;
}

const key = (m: { protocol: string; externalPort: number }) => `${m.protocol}/${m.externalPort}`;

function fromRecord(stored: StoredMapping, internalAddress: string, extra: Partial<SeenMapping>): SeenMapping {
  return {
    protocol: stored.protocol,
    externalPort: stored.externalPort,
    internalAddress: stored.internalAddress,
    internalPort: stored.internalPort,
    description: stored.description ?? '',
    lifetime: stored.lifetime,
    enabled: true,
    source: `porthole's record (${stored.method})`,
    mine: stored.internalAddress === internalAddress,
    porthole: true,
    live: null,
    ...extra,
  };
}

/** Asks the router whether a NAT-PMP/PCP record still stands, by renewing it with its own values. */
async function confirmByRenewal(
  gateway: GatewayInfo,
  stored: StoredMapping,
  options: AbortOptions,
  /** The router speaks UPnP and its list (which holds NAT-PMP and PCP mappings too) lacked it. */
  unlisted = false,
): Promise<Partial<SeenMapping>> {
  const client = clientFor(gateway, stored.method);
  if (!client) return { live: false, note: `the router no longer speaks ${stored.method}` };
  const name = stored.method === 'pcp' ? 'PCP' : 'NAT-PMP';
  try {
    const renewed = await client.renew(stored, options);
    const elapsed = (Date.now() - Date.parse(stored.createdAt)) / 1000;
    const restarted =
      stored.epoch !== undefined &&
      renewed.epoch !== undefined &&
      Number.isFinite(elapsed) &&
      epochShowsRestart(stored.epoch, renewed.epoch, elapsed);
    const moved = Boolean(stored.externalIp && renewed.externalIp && stored.externalIp !== renewed.externalIp);
    const lost = restarted
      ? moved
        ? `its external address changed from ${stored.externalIp} to ${renewed.externalIp} (its ${name} epoch restarted with it, as RFC 6887 section 8.5 asks)`
        : `it restarted about ${Math.round(renewed.epoch ?? 0)} s ago: ${name} epoch ${renewed.epoch} s, below the ${stored.epoch} s it had when porthole made the mapping ${Math.round(elapsed)} s ago`
      : unlisted
        ? `its UPnP list, which holds its ${name} mappings too, no longer had it, and its ${name} epoch (${renewed.epoch ?? '?'} s) shows no restart: it dropped the mapping while running (a clean-up of idle mappings, or its table reset)`
        : undefined;
    return {
      live: true,
      externalPort: renewed.externalPort,
      lifetime: renewed.lifetime,
      source: `the router (${name} renewal)`,
      confirmedBy: 'renewal',
      ...(renewed.lifetime > 0 ? { expiresAt: new Date(Date.now() + renewed.lifetime * 1000).toISOString() } : {}),
      ...(lost
        ? {
            lost,
            note: `the router had lost it (${lost}): this renewal made it again`,
          }
        : {}),
    };
  } catch (error) {
    return { live: false, note: `the router did not confirm it: ${(error as Error).message}` };
  }
}

/** The router's mappings (UPnP list) merged with porthole's records for this gateway. */
export async function seeMappings(gateway: GatewayInfo, options: SeeOptions = {}): Promise<SeenMapping[]> {
  const signalOptions = options.signal ? { signal: options.signal } : {};
  const upnp = clientFor(gateway, 'upnp');
  const listed = (await upnp?.list(signalOptions)) ?? [];
  const records = options.statePath
    ? readMappingState(options.statePath).filter((m) => m.gateway === gateway.address)
    : [];
  const recorded = new Set(records.map(key));
  const seen: SeenMapping[] = listed.map((entry) => ({
    ...entry,
    source: 'the router (UPnP list)',
    mine: entry.internalAddress === gateway.internalAddress,
    porthole: recorded.has(key(entry)),
    live: true,
  }));
  const inList = new Set(listed.map(key));
  const others = records.filter((stored) => !inList.has(key(stored)));
  const confirmed = await Promise.all(
    others.map(async (stored) => {
      if (stored.method === 'upnp') {
        // The router lists every UPnP mapping it has: one missing from the list is gone.
        return fromRecord(stored, gateway.internalAddress, {
          live: upnp ? false : null,
          note: upnp ? 'the router no longer lists it (restarted, or the lease ended)' : 'UPnP did not answer',
        });
      }
      // A lease that ended is over: renewing it would open the port again (a week after `map 7001`
      // without --keep, the doctor of another port must not quietly make 7001 reachable again).
      const endsAt = Date.parse(stored.createdAt) + stored.lifetime * 1000;
      if (stored.lifetime > 0 && Number.isFinite(endsAt) && endsAt < Date.now())
        return fromRecord(stored, gateway.internalAddress, {
          live: false,
          note: `its lease ended at ${new Date(endsAt).toISOString()} (not renewed to ask: that would make it again)`,
        });
      if (!options.confirm || options.confirmOnly?.(stored) === false)
        return fromRecord(stored, gateway.internalAddress, {});
      return fromRecord(
        stored,
        gateway.internalAddress,
        await confirmByRenewal(gateway, stored, signalOptions, upnp !== undefined),
      );
    }),
  );
  return [...seen, ...confirmed];
}

/** Which mappings to remove: by internal port (the default) or by external port. */
export interface RemovalQuery extends AbortOptions {
  readonly protocol: 'tcp' | 'udp';
  readonly internalPort?: number;
  readonly externalPort?: number;
  readonly statePath?: string | undefined;
}

/** What a removal did. */
export interface RemovalReport {
  readonly removed: Mapping[];
  /** Records the router no longer had: forgotten. */
  readonly stale: { readonly mapping: Mapping; readonly why: string }[];
  /** Mappings the router refused to remove: kept in the record, with the reason. */
  readonly failed: { readonly mapping: Mapping; readonly why: string }[];
}

/**
 * Removes this host's mappings that match: porthole's records (each with its own protocol; PCP
 * needs the nonce) and, through UPnP, any the router lists (made by other tools too). A mapping
 * the router refuses to remove stays recorded and is reported; never silently dropped.
 */
export async function removeMappings(gateway: GatewayInfo, query: RemovalQuery): Promise<RemovalReport> {
  const signalOptions = query.signal ? { signal: query.signal } : {};
  const matches = (m: { protocol: string; internalPort: number; externalPort: number; internalAddress: string }) =>
    m.protocol === query.protocol &&
    m.internalAddress === gateway.internalAddress &&
    (query.externalPort === undefined || m.externalPort === query.externalPort) &&
    (query.internalPort === undefined || m.internalPort === query.internalPort);
  const report: RemovalReport = { removed: [], stale: [], failed: [] };
  const records = query.statePath
    ? readMappingState(query.statePath).filter((m) => matches(m) && m.gateway === gateway.address)
    : [];
  for (const stored of records) {
    const client = clientFor(gateway, stored.method);
    if (!client && gateway.protocols.length === 0) {
      // The router answered nothing at all: that says nothing about the mapping. Keep the record.
      report.failed.push({ mapping: stored, why: 'the router answered no mapping protocol' });
      continue;
    }
    try {
      if (!client)
        throw new PortholeError('E_NO_MAPPING_PROTOCOL', { detail: `the gateway no longer speaks ${stored.method}` });
      await client.unmap(stored, signalOptions);
      report.removed.push(stored);
    } catch (error) {
      const code = (error as { code?: string }).code;
      // No answer says nothing about the mapping: keep the record. A refusal (a nonce or port the
      // router no longer knows, after a restart or expiry) says it is gone.
      if (code === 'E_GATEWAY_UNREACHABLE' || code === 'E_TIMEOUT' || code === 'E_ABORTED')
        report.failed.push({ mapping: stored, why: (error as Error).message });
      else report.stale.push({ mapping: stored, why: (error as Error).message });
    }
  }
  if (query.statePath) {
    const done = [...report.removed, ...report.stale.map((s) => s.mapping)];
    // Only this gateway's: behind a double NAT the router in front holds a record with the same port.
    forgetMappings(query.statePath, (m) =>
      done.some((r) => key(r) === key(m) && r.method === m.method && r.gateway === m.gateway),
    );
  }
  const upnp = clientFor(gateway, 'upnp');
  if (upnp) {
    for (const entry of (await upnp.list(signalOptions)).filter(matches)) {
      if (report.removed.some((m) => key(m) === key(entry))) continue;
      const mapping: Mapping = { method: 'upnp', gateway: gateway.address, ...entry, externalIp: '' };
      try {
        await upnp.unmap(mapping, signalOptions);
        report.removed.push(mapping);
      } catch (error) {
        report.failed.push({ mapping, why: (error as Error).message });
      }
    }
  }
  return report;
}

/** Whether the router lets this host map a port, asked once (the doctor's question when nothing maps it). */
export interface PermissionAnswer {
  /** true: granted (and deleted at once); false: refused, by its rules for this host or for this port. */
  readonly allowed: boolean;
  /** `host`: no port at all for this host; `port`: this port (taken, or not allowed). */
  readonly scope?: 'host' | 'port';
  readonly method: 'pcp' | 'upnp';
  readonly evidence: string;
  /** What asking changed on the router, for the report. */
  readonly changed: string;
}

/**
 * Asks whether the router lets this host map `port`: PCP with PREFER_FAILURE (refused at once,
 * never miniupnpd's search for an allowed port), or UPnP (a 606 comes at once); granted, the
 * mapping is deleted at once. NAT-PMP is never asked: a refused NAT-PMP request is what starts
 * that search. Undefined when neither is spoken.
 */
export async function askPermission(
  gateway: GatewayInfo,
  asked: { readonly protocol: 'tcp' | 'udp'; readonly port: number },
  options: AbortOptions = {},
): Promise<PermissionAnswer | undefined> {
  const client = clientFor(gateway, 'pcp') ?? clientFor(gateway, 'upnp');
  if (!client) return undefined;
  const method = client.method as 'pcp' | 'upnp';
  const name = method === 'pcp' ? 'PCP (with PREFER_FAILURE)' : 'UPnP';
  const changed = `asked the router to map ${asked.port}/${asked.protocol} for 30 s by ${name} and deleted it at once: the only way to ask whether its rules allow it`;
  try {
    const mapping = await client.map(
      {
        protocol: asked.protocol,
        internalPort: asked.port,
        external: asked.port,
        lifetimeSeconds: 30,
        description: 'porthole doctor: allowed?',
      },
      options,
    );
    // The question left nothing behind only if the delete is answered; a failed one is said.
    const undone = await client.unmap(mapping, options).then(
      () => undefined,
      (error: unknown) => toPortholeError(error).message,
    );
    if (undone === undefined)
      return {
        allowed: true,
        method,
        evidence: `${name} granted ${asked.port}/${asked.protocol} (deleted at once)`,
        changed,
      };
    return {
      allowed: true,
      method,
      evidence: `${name} granted ${asked.port}/${asked.protocol}; deleting it failed: ${undone}`,
      changed: `asked the router to map ${asked.port}/${asked.protocol} for 30 s by ${name}, the only way to ask whether its rules allow it, and could not delete it (${undone}): the router holds it until its lease ends`,
    };
  } catch (error) {
    const coded = error as PortholeError;
    const reason = (coded.data as { reason?: string } | undefined)?.reason;
    if (coded.code === 'E_GATEWAY_POLICY')
      return { allowed: false, scope: 'host', method, evidence: coded.detail ?? coded.message, changed };
    if (reason === 'policy' || reason === 'taken')
      return { allowed: false, scope: 'port', method, evidence: coded.detail ?? coded.message, changed };
    // Another failure (no public address, no answer) says nothing about its rules.
    return undefined;
  }
}
