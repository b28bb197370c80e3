/**
 * The relay's tenants file (YAML or JSON), checked with zod: who may log in (an authorized_keys
 * line or a token), which public ports each owns (a list, a pool, or both), whether UDP is
 * allowed, and caps on tunnels and visitor connections.
 *
 *   tenants:
 *     - name: camera-42
 *       keys: ["ssh-ed25519 AAAA... installer@laptop"]
 *       ports: [20007]
 *       pool: 20000-20999
 *       udp: true
 *       maxConnections: 200
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import ssh2, { type ParsedKey } from 'ssh2';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { PortholeError } from '../errors/index.js';
import { parsePortRangeText } from '../net/index.js';

// ssh2 is CommonJS: its named exports are read off the default export.
const { utils } = ssh2;

const portItem = z.union([z.number().int(), z.string()]);

const rawTenantSchema = z.strictObject({
  name: z.string().regex(/^[a-z_][a-z0-9_.-]{0,31}$/i, 'expected a login name (letters, digits, _ . -)'),
  key: z.string().optional(),
  keys: z.array(z.string()).optional(),
  token: z.string().min(16, 'a token needs at least 16 characters').optional(),
  ports: z.array(portItem).optional(),
  pool: z.string().optional(),
  udp: z.boolean().optional(),
  maxTunnels: z.number().int().positive().optional(),
  maxConnections: z.number().int().positive().optional(),
  /** Bandwidth cap per direction, shared by all of the tenant's connections. */
  maxBytesPerSecond: z.number().int().min(1024, 'at least 1024 bytes per second').optional(),
});

const rawTenantsSchema = z.strictObject({ tenants: z.array(rawTenantSchema).min(1, 'expected at least one tenant') });

/** A tenant, checked and ready for authentication. */
export interface Tenant {
  readonly name: string;
  readonly keys: readonly ParsedKey[];
  /** SHA-256 of the token, so the file's secret is compared in constant time. */
  readonly tokenHash: Buffer | undefined;
  /** Ports it may ask for by number. */
  readonly ports: readonly { start: number; end: number }[];
  /** Where port 0 is served from (the pool, else the listed ports). */
  readonly pool: readonly { start: number; end: number }[];
  readonly udp: boolean;
  readonly maxTunnels: number;
  readonly maxConnections: number;
  /** Bytes per second per direction; undefined = no cap. */
  readonly maxBytesPerSecond: number | undefined;
}

/** Defaults: a few tunnels, a few hundred visitors at once per tenant. */
const DEFAULT_MAX_TUNNELS = 8;
const DEFAULT_MAX_CONNECTIONS = 512;

function tenantsError(source: string, problems: string[]): PortholeError {
  return new PortholeError('E_RELAY_TENANTS', {
    detail: `${source}:\n  ${problems.join('\n  ')}`,
    data: { file: source, problems },
  });
}

/** Parses tenants text; throws E_RELAY_TENANTS listing every problem. */
export function parseTenants(text: string, source = 'tenants'): Tenant[] {
  let raw: unknown;
  try {
    // Warnings (an unknown tag or directive) would go to process.emitWarning, printed by node on
    // stderr in its own format, one per parse; the schema below judges the shape instead.
    raw = parseYaml(text, { logLevel: 'error' });
  } catch (error) {
    throw tenantsError(source, [(error as Error).message]);
  }
  const shape = rawTenantsSchema.safeParse(raw);
  if (!shape.success) {
    throw tenantsError(
      source,
      shape.error.issues.map((issue) => `${issue.path.join('.') || '(top)'}: ${issue.message}`),
    );
  }
  const problems: string[] = [];
  const names = new Set<string>();
  const tenants = shape.data.tenants.map((rawTenant, index) => {
    const at = `tenants.${index} (${rawTenant.name})`;
    if (names.has(rawTenant.name)) problems.push(`${at}: the name is used twice`);
    names.add(rawTenant.name);
    const keys: ParsedKey[] = [];
    for (const line of [...(rawTenant.key ? [rawTenant.key] : []), ...(rawTenant.keys ?? [])]) {
      // authorized_keys lines may carry options before the type; ssh2 parses "type base64 [comment]".
      const start = line.search(/(ssh-|ecdsa-|sk-)/);
      let parsed: ReturnType<typeof utils.parseKey>;
      try {
        parsed = utils.parseKey(start >= 0 ? line.slice(start) : line);
      } catch (error) {
        // ssh2 returns an Error for most bad keys but lets asn1's AssertionError out for a truncated
        // RSA key ("ssh-rsa AAAAB3NzaC1yc2EAAAAAAAAAAaz", found by fuzzing): `relay serve` died on it.
        parsed = error instanceof Error ? error : new Error(String(error));
      }
      if (parsed instanceof Error)
        problems.push(`${at}: key "${line.slice(0, 40)}..." does not parse (${parsed.message})`);
      else keys.push(Array.isArray(parsed) ? parsed[0] : parsed);
    }
    if (keys.length === 0 && !rawTenant.token) problems.push(`${at}: needs a key or a token`);
    const ranges = (items: readonly (string | number)[], field: string) =>
      items.flatMap((item) => {
        try {
          return [parsePortRangeText(String(item))];
        } catch (error) {
          problems.push(`${at}.${field}: ${error instanceof PortholeError ? error.detail : String(error)}`);
          return [];
        }
      });
    const ports = ranges(rawTenant.ports ?? [], 'ports');
    const pool = rawTenant.pool ? ranges([rawTenant.pool], 'pool') : [];
    if (ports.length === 0 && pool.length === 0) problems.push(`${at}: needs ports or a pool`);
    return {
      name: rawTenant.name,
      keys,
      tokenHash: rawTenant.token ? createHash('sha256').update(rawTenant.token).digest() : undefined,
      ports: [...ports, ...pool],
      pool: pool.length > 0 ? pool : ports,
      udp: rawTenant.udp ?? false,
      maxTunnels: rawTenant.maxTunnels ?? DEFAULT_MAX_TUNNELS,
      maxConnections: rawTenant.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
      maxBytesPerSecond: rawTenant.maxBytesPerSecond,
    } satisfies Tenant;
  });
  if (problems.length > 0) throw tenantsError(source, problems);
  return tenants;
}

/** Reads and parses a tenants file. */
export async function loadTenants(file: string): Promise<Tenant[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw tenantsError(file, [`cannot read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`]);
  }
  return parseTenants(text, file);
}

/** Whether a tenant owns a port. */
export function ownsPort(tenant: Tenant, port: number): boolean {
  return tenant.ports.some((range) => port >= range.start && port <= range.end);
}

/**
 * Up to `attempts` distinct random ports of the tenant's pool that `isTaken` does not rule out,
 * for a request of port 0 (random, so tenants cannot guess each other's next port).
 */
export function poolCandidates(
  tenant: Tenant,
  isTaken: (port: number) => boolean,
  attempts: number,
  random: () => number = Math.random,
): number[] {
  const size = tenant.pool.reduce((sum, range) => sum + range.end - range.start + 1, 0);
  const candidates = new Set<number>();
  for (let i = 0; i < Math.min(attempts * 2, size * 4) && candidates.size < attempts; i++) {
    let pick = Math.floor(random() * size);
    for (const range of tenant.pool) {
      const span = range.end - range.start + 1;
      if (pick < span) {
        if (!isTaken(range.start + pick)) candidates.add(range.start + pick);
        break;
      }
      pick -= span;
    }
  }
  return [...candidates];
}

/** Constant-time token check. */
export function tokenMatches(tenant: Tenant, token: string): boolean {
  if (!tenant.tokenHash) return false;
  return timingSafeEqual(tenant.tokenHash, createHash('sha256').update(token).digest());
}
