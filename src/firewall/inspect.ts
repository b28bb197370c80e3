/**
 * "Would this host accept inbound tcp/7001 now?" answered from the live rulesets: nftables
 * (with iptables-nft tables read through iptables-save, whose extensions nft's JSON leaves
 * opaque) and iptables-legacy when it holds rules. The doctor uses this for the host
 * firewall hop; `porthole firewall PORTS --inspect` shows it.
 */
import { PortholeError } from '../errors/index.js';
import { defaultGateways, type IpAddress, parseIp } from '../net/index.js';
import { type CommandRunner, localRunner } from '../system/index.js';
import { describePacket, type Evaluation, evaluatePacket, type Packet } from './evaluate.js';
import { modelFromIptablesSave } from './iptablesModel.js';
import { modelFromNftJson, ruleTexts } from './nftModel.js';
import type { ModelTable } from './ruleModel.js';

/** What was read, and from where (evidence for the doctor). */
export interface LiveRuleset {
  readonly tables: readonly ModelTable[];
  readonly sources: readonly string[];
}

async function tryRun(runner: CommandRunner, command: string, args: readonly string[]): Promise<string | undefined> {
  try {
    const result = await runner(command, args);
    return result.code === 0 ? result.stdout : undefined;
  } catch {
    return undefined;
  }
}

/** Reads every ruleset that filters this host's traffic. Throws E_PERMISSION when nft refuses. */
export async function readLiveRuleset(runner: CommandRunner = localRunner): Promise<LiveRuleset> {
  const json = await runner('nft', ['-j', 'list', 'ruleset']).catch(() => undefined);
  if (json && json.code !== 0 && /Operation not permitted/i.test(json.stderr)) {
    throw new PortholeError('E_PERMISSION', { detail: 'reading the nftables ruleset (nft list ruleset)' });
  }
  const sources: string[] = [];
  let tables: ModelTable[] = [];
  if (json?.code === 0) {
    const listing = (await tryRun(runner, 'nft', ['-a', 'list', 'ruleset'])) ?? '';
    tables = modelFromNftJson(JSON.parse(json.stdout || '{"nftables":[]}'), ruleTexts(listing));
    sources.push('nft -j list ruleset');
  }
  // Tables iptables-nft manages: re-read through iptables-save, which shows their extensions.
  for (const family of [4, 6] as const) {
    const name = family === 4 ? 'ip filter' : 'ip6 filter';
    const index = tables.findIndex((table) => table.name === name && table.source === 'iptables-nft');
    if (index < 0) continue;
    const saved = await tryRun(runner, family === 4 ? 'iptables-save' : 'ip6tables-save', ['-t', 'filter']);
    const table = saved ? modelFromIptablesSave(saved, family, 'iptables-nft') : undefined;
    if (table) {
      tables[index] = table;
      sources.push(`${family === 4 ? 'iptables-save' : 'ip6tables-save'} (iptables-nft)`);
    }
  }
  for (const family of [4, 6] as const) {
    const saved = await tryRun(runner, family === 4 ? 'iptables-legacy-save' : 'ip6tables-legacy-save', [
      '-t',
      'filter',
    ]);
    const table = saved ? modelFromIptablesSave(saved, family, 'iptables-legacy') : undefined;
    const hasRules =
      table && [...table.chains.values()].some((chain) => chain.rules.length > 0 || chain.policy === 'drop');
    if (table && hasRules) {
      tables = [...tables, table];
      sources.push(`${family === 4 ? 'iptables' : 'ip6tables'}-legacy-save`);
    }
  }
  return { tables, sources };
}

/** A question for inspectPort. */
export interface PortQuestion {
  readonly protocol: 'tcp' | 'udp';
  readonly port: number;
  readonly direction?: 'inbound' | 'outbound';
  /** The remote address, when known; otherwise any internet address. */
  readonly remote?: string;
  /** The interface; by default the one the default route uses. */
  readonly interface?: string;
  readonly family?: 4 | 6;
  /** This host's address the packet is for (inbound) or from (outbound): a multicast group. */
  readonly local?: string;
}

/** The answer: the evaluation, plus the packet it was about. */
export interface PortAnswer extends Evaluation {
  readonly protocol: 'tcp' | 'udp';
  readonly port: number;
  readonly packet: string;
  readonly sources: readonly string[];
}

/** The interface traffic from the internet arrives on: the default route's. */
export async function defaultInterface(): Promise<string | undefined> {
  const [gateway] = await defaultGateways().catch(() => []);
  return gateway?.interface;
}

/** Answers one question against a ruleset read with readLiveRuleset. Pure. */
export function inspectPort(ruleset: LiveRuleset, question: PortQuestion): PortAnswer {
  let remote: IpAddress | undefined;
  if (question.remote) remote = parseIp(question.remote);
  const local = question.local ? parseIp(question.local) : undefined;
  const packet: Packet = {
    hook: question.direction === 'outbound' ? 'output' : 'input',
    family: question.family ?? remote?.family ?? local?.family ?? 4,
    protocol: question.protocol,
    port: question.port,
    ...(remote ? { remote } : {}),
    ...(question.interface ? { interface: question.interface } : {}),
    ...(local ? { local } : {}),
  };
  return {
    ...evaluatePacket(ruleset.tables, packet),
    protocol: question.protocol,
    port: question.port,
    packet: describePacket(packet),
    sources: ruleset.sources,
  };
}
