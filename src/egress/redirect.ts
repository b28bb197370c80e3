/**
 * The egress listener's port redirect: one nftables table that sends every asked port of one
 * address to the single listener, so 65535 ports cost one socket. Rendering is pure; applying
 * and removing are one `nft` transaction each. The table is named after the process, so a
 * later run can remove what a crashed one left behind.
 */

import { execFileSync } from 'node:child_process';
import { PortholeError } from '../errors/index.js';
import type { PortRange, Transport } from '../net/index.js';
import { processAlive, run } from '../system/index.js';

const TABLE_PREFIX = 'porthole_egress_';

/** What one redirect table carries. */
export interface RedirectPlan {
  /** The listener's address (a specific address: a wildcard would capture every local service). */
  readonly address: string;
  readonly family: 4 | 6;
  /** Per transport: the ports redirected, and the listener port they go to. */
  readonly rules: readonly { protocol: Transport; ranges: readonly PortRange[]; toPort: number }[];
}

/** The table name for a process. */
export function redirectTableName(pid: number = process.pid): string {
  return `${TABLE_PREFIX}${pid}`;
}

/** Removes ports from ranges: the service's own ports must not be captured. */
export function subtractPorts(ranges: readonly PortRange[], exclude: readonly number[]): PortRange[] {
  let left = [...ranges];
  for (const port of exclude) {
    left = left.flatMap((range) => {
      if (port < range.start || port > range.end) return [range];
      return [
        ...(port > range.start ? [{ ...range, end: port - 1 }] : []),
        ...(port < range.end ? [{ ...range, start: port + 1 }] : []),
      ];
    });
  }
  return left;
}

function setText(ranges: readonly PortRange[]): string {
  return ranges
    .map((range) => (range.start === range.end ? `${range.start}` : `${range.start}-${range.end}`))
    .join(', ');
}

/** The nftables table, as `nft -f` reads it. Pure. */
export function renderRedirect(plan: RedirectPlan, table: string = redirectTableName()): string {
  const family = plan.family === 6 ? 'ip6' : 'ip';
  const to = plan.family === 6 ? `[${plan.address}]` : plan.address;
  const rules = plan.rules
    .filter((rule) => rule.ranges.length > 0)
    .map(
      (rule) =>
        `${family} daddr ${plan.address} ${rule.protocol} dport { ${setText(rule.ranges)} } dnat to ${to}:${rule.toPort}`,
    );
  const chain = (name: string, hook: string, priority: string) =>
    `  chain ${name} {\n    type nat hook ${hook} priority ${priority}; policy accept;\n${rules.map((rule) => `    ${rule}\n`).join('')}  }\n`;
  // prerouting for clients elsewhere; output for clients on this machine (tests, a local check).
  return `table ${family} ${table} {\n${chain('prerouting', 'prerouting', 'dstnat')}${chain('output', 'output', '-100')}}\n`;
}

/** An applied redirect; `remove()` is idempotent and also runs on process exit. */
export interface AppliedRedirect {
  readonly table: string;
  remove(): Promise<void>;
}

/** Deletes redirect tables whose process is gone (a crash or a SIGKILL leaves them behind). */
export async function removeStaleRedirects(): Promise<string[]> {
  const listed = await run('nft', ['list', 'tables']);
  const stale: string[] = [];
  for (const match of listed.stdout.matchAll(new RegExp(`^table (ip6?) (${TABLE_PREFIX}(\\d+))$`, 'gm'))) {
    if (processAlive(Number(match[3]))) continue;
    await run('nft', ['delete', 'table', match[1] ?? 'ip', match[2] ?? '']);
    stale.push(match[2] ?? '');
  }
  return stale;
}

/** Applies the redirect in one transaction; throws E_PERMISSION or E_FIREWALL_APPLY. */
export async function applyRedirect(plan: RedirectPlan): Promise<AppliedRedirect> {
  const table = redirectTableName();
  const family = plan.family === 6 ? 'ip6' : 'ip';
  await removeStaleRedirects().catch(() => []);
  // Replace any table of ours from an earlier start in this process, atomically.
  const text = `table ${family} ${table}\ndelete table ${family} ${table}\n${renderRedirect(plan, table)}`;
  const applied = await run('nft', ['-f', '-'], { input: text }).catch((error: NodeJS.ErrnoException) => {
    throw new PortholeError(error.code === 'ENOENT' ? 'E_FIREWALL_UNSUPPORTED' : 'E_FIREWALL_APPLY', {
      detail: `nft: ${error.message}`,
      hint: 'Install nftables, or ask for fewer egress ports (up to 1024 are served with one socket each).',
      cause: error,
    });
  });
  if (applied.code !== 0) {
    const denied = /Operation not permitted/.test(applied.stderr);
    throw new PortholeError(denied ? 'E_PERMISSION' : 'E_FIREWALL_APPLY', {
      detail: `the egress redirect (nft): ${applied.stderr.trim()}`,
      ...(denied
        ? { hint: 'Run `porthole serve` as root (or with CAP_NET_ADMIN) for more than 1024 egress ports.' }
        : {}),
    });
  }
  let removed = false;
  const removeNow = () => {
    if (removed) return;
    removed = true;
    try {
      execFileSync('nft', ['delete', 'table', family, table], { stdio: 'ignore' });
    } catch {
      // Already gone.
    }
  };
  process.once('exit', removeNow);
  return {
    table,
    remove: async () => {
      process.off('exit', removeNow);
      if (removed) return;
      removed = true;
      await run('nft', ['delete', 'table', family, table]);
    },
  };
}
