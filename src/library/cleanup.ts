/**
 * Removing what killed porthole processes left behind: router mappings and firewall tables
 * they recorded (leftovers.ts), and egress redirect tables named after their pid. What cannot
 * be removed keeps its record and is reported, so a later run can try again.
 */
import { type AbortOptions, throwIfAborted } from '../deadline/index.js';
import { PortholeError, toPortholeError } from '../errors/index.js';
import {
  clientFor,
  forgetMappings,
  type Mapping,
  mappingStatePath,
  type PinholeGateway,
  pinholeClientFor,
  removeMappings,
} from '../gateway/index.js';
import { run } from '../system/index.js';
import {
  deadOwnerRecords,
  forgetOwned,
  type LeftoverRecord,
  type MappingRequestRecord,
  ownerAlive,
  readOwnedRecords,
} from './leftovers.js';
import { RunSession, type SessionOptions } from './session.js';

/** The egress listener's redirect tables are `porthole_egress_<pid>` (src/egress/redirect.ts). */
const REDIRECT_TABLE = /^table (ip6?) (porthole_egress_(\d+))$/gm;

/** One thing cleaned up, or not. */
export interface CleanupItem {
  readonly kind: 'mapping' | 'firewall' | 'redirect';
  /** What it is, for a person: `203.0.113.1:7002/tcp -> 192.168.77.10:7002 (natpmp)`, `inet porthole_web`. */
  readonly what: string;
  /** The pid of the process that made it (gone now). */
  readonly pid: number;
  /** Why it could not be removed (in `failed` only). */
  readonly error?: { readonly code: string; readonly message: string };
}

/** What `porthole cleanup` did. */
export interface CleanupReport {
  readonly removed: readonly CleanupItem[];
  readonly failed: readonly CleanupItem[];
  /** What could not be looked at (nftables without root), and why. */
  readonly skipped: readonly string[];
}

/** Options for cleanupLeftovers: the session's (environment, gateway discovery overrides, host). */
export type CleanupOptions = Omit<SessionOptions, 'purpose'>;

function describeMapping(m: Mapping): string {
  if (m.family === 6) return `pinhole [${m.internalAddress}]:${m.internalPort}/${m.protocol} (${m.method})`;
  return `${m.externalIp || m.gateway}:${m.externalPort || '?'}/${m.protocol} -> ${m.internalAddress}:${m.internalPort} (${m.method})`;
}

function describe(record: LeftoverRecord): string {
  if (record.kind === 'firewall') return record.table;
  if (record.kind === 'mapping-request')
    return `${record.request.internalPort}/${record.request.protocol} on ${record.request.gateway} (asked, answer not seen)`;
  return describeMapping(record.mapping);
}

/**
 * How a request whose answer was never read was removed, when the router's list did not show it:
 * PCP's delete by nonce is refused for what the router never made, but NAT-PMP's delete of an
 * internal port succeeds either way (RFC 6886 3.4), so it cannot say there was anything to remove.
 */
function howRemoved(mapping: Mapping): string {
  if (mapping.family === 6) return ' (its answer never read: deleted by its PCP nonce)';
  if (mapping.method === 'natpmp' && mapping.externalPort === 0)
    return " (its answer never read: NAT-PMP's delete cannot tell whether the router held it; deleted if it did)";
  return '';
}

function failure(error: unknown): { code: string; message: string } {
  const coded = toPortholeError(error);
  return { code: coded.code, message: coded.message };
}

/** Methods a router did not answer during this cleanup: not asked again (each silence costs seconds). */
type Deaf = Set<string>;

const SILENT = new Set(['E_GATEWAY_UNREACHABLE', 'E_TIMEOUT']);

/**
 * Removes one recorded mapping (or IPv6 pinhole): through the client that made it, and when the
 * router no longer answers that protocol (a PCP server left deaf by a flood of requests, or turned
 * off), through another it still speaks: UPnP deletes by external port whatever protocol made the
 * mapping (miniupnpd keeps one table), after checking the entry is this host's. An outer router's
 * mapping (double NAT) is asked at that router.
 */
async function removeMapping(mapping: Mapping, session: RunSession, deaf: Deaf) {
  if (mapping.family === 6) {
    const gateway = await session.pinholeGateway();
    if (gateway.address !== mapping.gateway) throw gatewayMoved('the mapping is', mapping.gateway, gateway.address);
    const client = pinholeClientFor(gateway, mapping.method);
    if (!client)
      throw new PortholeError('E_NO_MAPPING_PROTOCOL', {
        detail: `${gateway.address} no longer speaks ${mapping.method}`,
      });
    await client.unmap(mapping, session.abort);
    return;
  }
  const gateway = await session.gatewayHolding(mapping);
  const methods = [...new Set([mapping.method, 'upnp' as const])];
  let last: unknown = new PortholeError('E_NO_MAPPING_PROTOCOL', {
    detail: `${gateway.address} no longer speaks ${mapping.method}${deaf.size > 0 ? ` (did not answer: ${[...deaf].join(', ')})` : ''}`,
  });
  for (const method of methods) {
    const key = `${gateway.address}/${method}`;
    const client = clientFor(gateway, method);
    if (!client || deaf.has(key)) continue;
    try {
      if (method === mapping.method) await client.unmap(mapping, session.abort);
      else {
        const upnp = client as typeof client & {
          getSpecific(p: 'tcp' | 'udp', e: number, o?: AbortOptions): Promise<{ internalAddress: string } | undefined>;
        };
        const entry = await upnp.getSpecific(mapping.protocol, mapping.externalPort, session.abort);
        // Gone already, or another host's now: nothing of this record to remove.
        if (entry && entry.internalAddress === mapping.internalAddress)
          await client.unmap({ ...mapping, method: 'upnp' }, session.abort);
      }
      return;
    } catch (error) {
      throwIfAborted(session.signal);
      last = error;
      if (!SILENT.has((error as { code?: string }).code ?? '')) throw error;
      deaf.add(key);
    }
  }
  throw last;
}

/** The record names another router than this host's gateway now: porthole asks only its own. */
function gatewayMoved(what: string, recorded: string, now: string): PortholeError {
  return new PortholeError('E_GATEWAY_MOVED', { detail: `${what} on ${recorded}; this host's gateway now is ${now}` });
}

/**
 * A request whose answer its process never saw: whatever the router lists for that internal port
 * of this host is what it made (miniupnpd lists its NAT-PMP and PCP mappings with UPnP's too). A
 * router that speaks NAT-PMP but no UPnP is asked to delete the internal port's mapping (RFC 6886).
 * Not when a live porthole process holds a mapping of that port: it may be the one listed.
 */
async function removeRequested(
  record: LeftoverRecord & { kind: 'mapping-request' },
  session: RunSession,
  live: readonly LeftoverRecord[],
): Promise<Mapping[]> {
  const { request } = record;
  const options = session.abort;
  if (request.family === 6) return removeRequestedPinhole(request, await session.pinholeGateway(), options);
  const held = live.some(
    (other) =>
      other.kind === 'mapping' &&
      other.mapping.family !== 6 &&
      other.mapping.protocol === request.protocol &&
      other.mapping.internalPort === request.internalPort,
  );
  if (held)
    throw new PortholeError('E_CLEANUP_FAILED', {
      detail: `a running porthole process holds a mapping of ${request.internalPort}/${request.protocol}: the router's entry may be that one`,
    });
  const gateway = await session.gateway();
  if (gateway.address !== request.gateway) throw gatewayMoved('the request went', request.gateway, gateway.address);
  const query = { protocol: request.protocol, internalPort: request.internalPort, ...options };
  if (clientFor(gateway, 'upnp')) {
    const report = await removeMappings(gateway, query);
    if (report.failed.length > 0)
      throw new PortholeError('E_CLEANUP_FAILED', { detail: report.failed.map((f) => f.why).join('; ') });
    return report.removed;
  }
  // No list to read: PCP deletes by the nonce the request was recorded with (RFC 6887 §15: a
  // router that never made it refuses, which is nothing to remove); else NAT-PMP deletes the
  // internal port's mapping (RFC 6886 §3.4).
  const pcp = clientFor(gateway, 'pcp');
  if (pcp && request.nonce) {
    const mapping: Mapping = {
      method: 'pcp',
      gateway: gateway.address,
      protocol: request.protocol,
      internalAddress: gateway.internalAddress,
      internalPort: request.internalPort,
      externalPort: request.internalPort,
      externalIp: '',
      lifetime: 0,
      nonce: request.nonce,
    };
    try {
      await pcp.unmap(mapping, options);
      return [mapping];
    } catch (error) {
      if ((error as { code?: string }).code === 'E_GATEWAY_REFUSED') return [];
      throw error;
    }
  }
  const natpmp = clientFor(gateway, 'natpmp');
  if (!natpmp)
    throw new PortholeError('E_NO_MAPPING_PROTOCOL', {
      detail: `${gateway.address} lists no mappings and speaks no NAT-PMP: it cannot be asked`,
    });
  const mapping: Mapping = {
    method: 'natpmp',
    gateway: gateway.address,
    protocol: request.protocol,
    internalAddress: gateway.internalAddress,
    internalPort: request.internalPort,
    externalPort: 0,
    externalIp: '',
    lifetime: 0,
  };
  await natpmp.unmap(mapping, options);
  return [mapping];
}

/**
 * An IPv6 pinhole asked for by PCP whose answer its process never saw: deleted by the nonce it
 * was asked with (a router that never made it refuses the delete: nothing to remove). One asked
 * by IGDv2 (the fallback) cannot be found without its answer's UniqueID.
 */
async function removeRequestedPinhole(
  request: MappingRequestRecord,
  gateway: PinholeGateway,
  options: AbortOptions,
): Promise<Mapping[]> {
  if (gateway.address !== request.gateway) throw gatewayMoved('the request went', request.gateway, gateway.address);
  const client = pinholeClientFor(gateway, 'pcp');
  if (!request.nonce || !client)
    throw new PortholeError('E_CLEANUP_FAILED', {
      detail: `${gateway.address}: a pinhole asked without PCP cannot be found (IGDv2 deletes by the UniqueID its answer carried, never seen)`,
    });
  const mapping: Mapping = {
    method: 'pcp',
    family: 6,
    gateway: gateway.address,
    protocol: request.protocol,
    internalAddress: gateway.internalAddress,
    internalPort: request.internalPort,
    externalPort: request.internalPort,
    externalIp: gateway.internalAddress,
    lifetime: 0,
    nonce: request.nonce,
  };
  try {
    await client.unmap(mapping, options);
    return [mapping];
  } catch (error) {
    // A refusal: the router holds no pinhole with that nonce (it was never made). Silence is a failure.
    if ((error as { code?: string }).code === 'E_GATEWAY_REFUSED') return [];
    throw error;
  }
}

/** Finds egress redirect tables of dead processes and deletes them. */
async function removeRedirects(
  options: AbortOptions,
  removed: CleanupItem[],
  failed: CleanupItem[],
  skipped: string[],
) {
  let listed: Awaited<ReturnType<typeof run>>;
  try {
    listed = await run('nft', ['list', 'tables'], { signal: options.signal, timeoutMs: 5000 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return; // No nftables: no tables.
    throw error;
  }
  if (listed.code !== 0) {
    skipped.push(`nftables tables (${listed.stderr.trim() || `nft exited ${listed.code}`}; run as root to clean them)`);
    return;
  }
  for (const match of listed.stdout.matchAll(REDIRECT_TABLE)) {
    const [, family = 'ip', table = '', pidText = ''] = match;
    const pid = Number(pidText);
    if (ownerAlive({ pid, processStart: null })) continue;
    const item = { kind: 'redirect' as const, what: `${family} ${table}`, pid };
    const deleted = await run('nft', ['delete', 'table', family, table], { signal: options.signal, timeoutMs: 5000 });
    if (deleted.code === 0) removed.push(item);
    else failed.push({ ...item, error: { code: 'E_CLEANUP_FAILED', message: deleted.stderr.trim() } });
  }
}

/**
 * Removes what porthole processes that are no longer running left behind, and reports each
 * thing as removed or failed (a failed one keeps its record). A process still running keeps
 * what it owns.
 */
export async function cleanupLeftovers(options: CleanupOptions = {}): Promise<CleanupReport> {
  throwIfAborted(options.signal);
  // The gateways are discovered once, when a record needs them, waiting for every protocol's answer:
  // on a busy router UPnP's comes last, and without it a UPnP mapping "cannot be removed" (found by
  // scripts/crash-safety.ts: cleanup failed after a killed `expose --via upnp`).
  const session = new RunSession({ ...options, purpose: 'inventory' });
  const env = session.env;
  const removed: CleanupItem[] = [];
  const failed: CleanupItem[] = [];
  const skipped: string[] = [];
  const live = readOwnedRecords(env).filter((record) => ownerAlive(record));
  const deaf: Deaf = new Set();
  // What is removed leaves porthole's list of mappings too: a record left there would be renewed
  // (made again) by the next `porthole mappings`, which confirms NAT-PMP/PCP records by renewing them.
  const statePath = mappingStatePath(env);
  // A removal by request knows no external port (NAT-PMP, a PCP nonce): then the internal port and
  // method decide; a known external port must match too, so another mapping of the same internal
  // port (left by design with another --external) keeps its record.
  const forgetState = (gone: readonly Mapping[]) =>
    forgetMappings(statePath, (stored) =>
      gone.some(
        (m) =>
          stored.gateway === m.gateway &&
          stored.protocol === m.protocol &&
          stored.internalPort === m.internalPort &&
          stored.method === m.method &&
          // A PCP mapping is named by its nonce; NAT-PMP's delete by request knows no external port (0).
          (m.nonce !== undefined
            ? stored.nonce === m.nonce
            : m.externalPort === 0 || stored.externalPort === m.externalPort) &&
          (stored.family ?? 4) === (m.family ?? 4),
      ),
    );
  for (const record of deadOwnerRecords(env)) {
    const item = {
      kind: record.kind === 'firewall' ? record.kind : ('mapping' as const),
      what: describe(record),
      pid: record.pid,
    };
    try {
      if (record.kind === 'mapping') {
        await removeMapping(record.mapping, session, deaf);
        forgetState([record.mapping]);
        removed.push(item);
      } else if (record.kind === 'mapping-request') {
        const found = await removeRequested(record, session, live);
        forgetState(found);
        removed.push(
          ...found.map((mapping) => ({ ...item, what: `${describeMapping(mapping)}${howRemoved(mapping)}` })),
        );
      } else {
        await session.host.firewall.removeRules(record.manifest, session.abort);
        removed.push(item);
      }
      forgetOwned(record.id, env);
    } catch (error) {
      throwIfAborted(options.signal);
      failed.push({ ...item, error: failure(error) });
    }
  }
  await removeRedirects(session.abort, removed, failed, skipped);
  return { removed, failed, skipped };
}
