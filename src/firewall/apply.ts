/**
 * Installing and removing a manifest's rules in the live nftables ruleset, each in one atomic
 * transaction (`nft -f -`): it all happens, or nothing does.
 *
 * porthole's own table holds the rules. Because a drop in any base chain is final in nftables,
 * an accept there cannot open a port that another table's chain drops; so the same accept
 * rules are also inserted at the top of every other filter chain on the hook that can drop,
 * each tagged `porthole:<manifest>/<entry>` so that removal finds exactly them. Tables managed
 * by iptables-nft are not written to (iptables would misread native rules); the result says
 * which iptables commands would open them.
 */
import { PortholeError } from '../errors/index.js';
import { type CommandRunner, localRunner } from '../system/index.js';
import { nftComment, nftMatches, nftTableName, renderNftables } from './nftables.js';
import type { RulePlan } from './types.js';

/** Marks rules porthole inserted into chains it does not own. */
const TAG = 'porthole:';

/** A base chain of another table that can drop, where accept rules were inserted. */
export interface IntegratedChain {
  readonly chain: string;
  readonly rules: number;
}

/** What apply did. */
export interface ApplyResult {
  readonly table: string;
  readonly rules: number;
  readonly integrated: readonly IntegratedChain[];
  readonly warnings: readonly string[];
}

/** What remove did. */
export interface RemoveResult {
  readonly table: string | undefined;
  readonly removedRules: number;
}

interface NftItem {
  table?: { family: string; name: string };
  chain?: { family: string; table: string; name: string; hook?: string; type?: string; policy?: string };
  rule?: { family: string; table: string; chain: string; handle: number; comment?: string; expr?: unknown[] };
}

async function listRuleset(runner: CommandRunner): Promise<NftItem[]> {
  const result = await runner('nft', ['-j', 'list', 'ruleset']);
  if (result.code !== 0) {
    const permission = /Operation not permitted/i.test(result.stderr);
    throw new PortholeError(permission ? 'E_PERMISSION' : 'E_FIREWALL_APPLY', {
      detail: `nft list ruleset: ${result.stderr.trim()}`,
    });
  }
  return (JSON.parse(result.stdout || '{"nftables":[]}') as { nftables: NftItem[] }).nftables;
}

async function commit(runner: CommandRunner, script: string): Promise<void> {
  const result = await runner('nft', ['-f', '-'], { input: script });
  if (result.code !== 0) {
    const permission = /Operation not permitted/i.test(result.stderr);
    throw new PortholeError(permission ? 'E_PERMISSION' : 'E_FIREWALL_APPLY', {
      detail: `nft -f: ${result.stderr.trim()} (nothing was changed: the transaction is atomic)`,
    });
  }
}

function hasVerdict(rule: NonNullable<NftItem['rule']>, verdicts: readonly string[]): boolean {
  return (rule.expr ?? []).some(
    (expression) => typeof expression === 'object' && expression !== null && verdicts.some((v) => v in expression),
  );
}

function taggedDeletes(items: NftItem[], manifest: string): string[] {
  return items.flatMap(({ rule }) =>
    rule?.comment?.startsWith(`${TAG}${manifest}/`)
      ? [`delete rule ${rule.family} ${rule.table} ${rule.chain} handle ${rule.handle}`]
      : [],
  );
}

/** Installs the plan's table and integration rules atomically; re-applying replaces them. */
export async function applyNftables(plan: RulePlan, runner: CommandRunner = localRunner): Promise<ApplyResult> {
  const items = await listRuleset(runner);
  const own = nftTableName(plan.manifest);
  const iptablesTables = new Set(
    items.flatMap(({ rule }) =>
      rule && (rule.expr ?? []).some((e) => typeof e === 'object' && e !== null && 'xt' in e)
        ? [`${rule.family} ${rule.table}`]
        : [],
    ),
  );
  const chains = items.flatMap(({ chain }) =>
    chain?.type === 'filter' &&
    (chain.hook === 'input' || chain.hook === 'output') &&
    ['inet', 'ip', 'ip6'].includes(chain.family) &&
    chain.table !== own
      ? [chain]
      : [],
  );
  const script: string[] = [...taggedDeletes(items, plan.manifest)];
  const integrated: IntegratedChain[] = [];
  const warnings: string[] = [];
  for (const chain of chains) {
    const tableName = `${chain.family} ${chain.table}`;
    const canDrop =
      chain.policy === 'drop' ||
      items.some(
        ({ rule }) =>
          rule &&
          rule.family === chain.family &&
          rule.table === chain.table &&
          rule.chain === chain.name &&
          hasVerdict(rule, ['drop', 'reject']),
      );
    if (!canDrop) continue;
    const direction = chain.hook === 'input' ? 'in' : 'out';
    const inserts = plan.rules
      .filter((rule) => rule.direction === direction)
      .flatMap((rule) =>
        nftMatches(rule)
          .filter(
            ({ family }) =>
              chain.family === 'inet' || family === undefined || family === (chain.family === 'ip' ? 4 : 6),
          )
          .map(
            ({ match }) => `insert rule ${tableName} ${chain.name} ${match} accept ${nftComment(`${TAG}${rule.id}`)}`,
          ),
      );
    if (inserts.length === 0) continue;
    if (iptablesTables.has(tableName)) {
      warnings.push(
        `${tableName} ${chain.name} is managed by iptables-nft and can drop; porthole does not write to it. ` +
          `Open it with: porthole firewall ${plan.source} --target iptables`,
      );
      continue;
    }
    // Each insert goes to the top, so insert in reverse to keep the plan's order.
    script.push(...inserts.reverse());
    integrated.push({ chain: `${tableName} ${chain.name}`, rules: inserts.length });
  }
  await commit(runner, `${renderNftables(plan)}\n${script.join('\n')}\n`);
  return { table: `inet ${own}`, rules: plan.rules.length, integrated, warnings };
}

/** Removes the manifest's table and every rule porthole inserted for it, atomically. */
export async function removeNftables(manifest: string, runner: CommandRunner = localRunner): Promise<RemoveResult> {
  const items = await listRuleset(runner);
  const own = nftTableName(manifest);
  const tableExists = items.some(({ table }) => table?.family === 'inet' && table.name === own);
  const deletes = taggedDeletes(items, manifest);
  if (!tableExists && deletes.length === 0) return { table: undefined, removedRules: 0 };
  await commit(runner, [...deletes, ...(tableExists ? [`delete table inet ${own}`] : []), ''].join('\n'));
  return { table: tableExists ? `inet ${own}` : undefined, removedRules: deletes.length };
}
