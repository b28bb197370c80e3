/**
 * Removing what killed porthole processes left behind: router mappings and firewall tables
 * they recorded (leftovers.ts), and egress redirect tables named after their pid. What cannot
 * be removed keeps its record and is reported, so a later run can try again.
 */
import { type AbortOptions, throwIfAborted } from '../deadline/index.js';
import { toPortholeError } from '../errors/index.js';
import { removeNftables } from '../firewall/index.js';
import { clientFor, type DiscoveryOptions, discoverPrimaryGateway, type GatewayInfo } from '../gateway/index.js';
import { run } from '../host/command.js';
import { deadOwnerRecords, forgetOwned, type LeftoverRecord, ownerAlive } from './leftovers.js';

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

/** Options for cleanupLeftovers. */
export interface CleanupOptions extends AbortOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly discovery?: Omit<DiscoveryOptions, 'signal'>;
}

function describe(record: LeftoverRecord): string {
  if (record.kind === 'firewall') return record.table;
  const m = record.mapping;
  return `${m.externalIp || m.gateway}:${m.externalPort}/${m.protocol} -> ${m.internalAddress}:${m.internalPort} (${m.method})`;
}

function failure(error: unknown): { code: string; message: string } {
  const coded = toPortholeError(error);
  return { code: coded.code, message: coded.message };
}

/** Removes one recorded mapping through the gateway's own client (the one that made it). */
async function removeMapping(
  record: LeftoverRecord & { kind: 'mapping' },
  gateway: GatewayInfo,
  options: AbortOptions,
) {
  const { mapping } = record;
  if (gateway.address !== mapping.gateway)
    throw new Error(`the mapping is on ${mapping.gateway}; this host's gateway now is ${gateway.address}`);
  const client = clientFor(gateway, mapping.method);
  if (!client) throw new Error(`${gateway.address} no longer speaks ${mapping.method}`);
  await client.unmap(mapping, options);
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
  const env = options.env ?? process.env;
  const removed: CleanupItem[] = [];
  const failed: CleanupItem[] = [];
  const skipped: string[] = [];
  const signalOnly = { signal: options.signal };
  let gateway: Promise<GatewayInfo> | undefined;
  for (const record of deadOwnerRecords(env)) {
    const item = { kind: record.kind, what: describe(record), pid: record.pid };
    try {
      if (record.kind === 'mapping') {
        gateway ??= discoverPrimaryGateway({ ...options.discovery, signal: options.signal });
        await removeMapping(record, await gateway, signalOnly);
      } else {
        await removeNftables(record.manifest);
      }
      forgetOwned(record.id, env);
      removed.push(item);
    } catch (error) {
      throwIfAborted(options.signal);
      failed.push({ ...item, error: failure(error) });
    }
  }
  await removeRedirects(signalOnly, removed, failed, skipped);
  return { removed, failed, skipped };
}
