/**
 * The Linux host: listeners and connections from /proc/net, the host firewall from the live
 * nftables/iptables rulesets walked by src/firewall's model, rules applied and removed as one
 * nftables table per manifest. Reading needs no root except the rulesets (nft refuses without it).
 */
import type { AbortOptions } from '../deadline/index.js';
import { isPortholeError, PortholeError } from '../errors/index.js';
import {
  applyNftables,
  backends,
  defaultInterface,
  inspectPort,
  type LiveRuleset,
  nftTableName,
  type PortAnswer,
  type RulePlan,
  readLiveRuleset,
  removeNftables,
} from '../firewall/index.js';
import { listInterfaces } from '../net/index.js';
import { localRunner, requiredFolder } from '../system/index.js';
import { findListeners } from './linuxListeners.js';
import { PROC_TCP_LISTEN, readProcSockets } from './linuxProcNet.js';
import type {
  FirewallAnswer,
  FirewallCommands,
  Host,
  HostFix,
  HostInspection,
  HostOptions,
  InspectOptions,
  PortHostFacts,
  PortQuestion,
} from './types.js';

const FIREWALL = 'nftables';

/** A word for a POSIX shell: as is when safe, else single-quoted. */
function shellWord(text: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;
}

/** The fix for a port the ruleset does not let in: porthole's own table, and the one-rule way beside it. */
function openFix(answer: PortAnswer, source: string): HostFix {
  const decided = answer.decidedBy;
  const where = decided && !decided.policy ? `${decided.table} ${decided.chain}` : '<table> <input chain>';
  return {
    text: `Open it with porthole's own table (or, for that port alone: nft insert rule ${where} ${answer.protocol} dport ${answer.port} accept)`,
    commands: [`porthole firewall ${source} --target nftables --apply`],
    shell: 'sh',
    elevated: true,
  };
}

/** The ruleset's answer in the host interface's words. Pure. */
export function linuxFirewallAnswer(answer: PortAnswer, source: string): FirewallAnswer {
  const evidence = [
    `packet: ${answer.packet}`,
    ...answer.trail,
    ...(answer.decidedBy ? [`decided by: ${JSON.stringify(answer.decidedBy)}`] : []),
    ...(answer.certain ? [] : [`uncertain: ${answer.uncertainRules.join('; ')}`]),
  ];
  const label = `${answer.port}/${answer.protocol}`;
  if (answer.verdict === 'accept') {
    return {
      firewall: FIREWALL,
      verdict: 'accept',
      certain: answer.certain,
      reason: answer.decidedBy ? 'allowed' : 'not-filtering',
      summary: `the host firewall accepts ${label}${answer.certain ? '' : ' (some rules could not be judged)'}`,
      evidence,
    };
  }
  return {
    firewall: FIREWALL,
    verdict: answer.verdict,
    certain: answer.certain,
    reason: answer.decidedBy?.policy ? 'default-block' : 'blocked-by-rule',
    summary: `the host firewall ${answer.verdict === 'drop' ? 'drops' : 'rejects'} ${label} from the internet`,
    evidence,
    fix: openFix(answer, source),
  };
}

/** The ruleset could not be read: the port's answer is unknown, with the reason kept as evidence. */
function unreadable(port: PortQuestion, error: unknown): FirewallAnswer {
  const code = isPortholeError(error) ? error.code : 'E_INTERNAL';
  const message = (error as Error).message ?? String(error);
  return {
    firewall: FIREWALL,
    verdict: 'unknown',
    certain: false,
    reason: 'unreadable',
    summary: `the host firewall for ${port.port}/${port.protocol} could not be read (${code}: ${message})`,
    evidence: [code],
    ...(code === 'E_PERMISSION'
      ? {
          fix: {
            text: 'Run the doctor as root to read the nftables ruleset',
            commands: [],
            shell: 'sh' as const,
            elevated: true,
          },
        }
      : {}),
  };
}

/** The Linux adapter. */
export function createLinuxHost(options: HostOptions = {}): Host {
  const runner = options.runner ?? localRunner;
  const env = options.env ?? process.env;
  const commandsFor = (plan: RulePlan): FirewallCommands => ({
    shell: 'sh',
    apply: [`sudo porthole firewall ${shellWord(plan.source)} --target nftables --apply`],
    remove: [`sudo porthole firewall ${shellWord(plan.source)} --target nftables --remove`],
  });
  /** Changing the ruleset needs root (or CAP_NET_ADMIN): said before anything is tried, with the lines for root. */
  const mustBeRoot = async (commands: readonly string[]) => {
    if (process.getuid?.() === 0) return;
    throw new PortholeError('E_PERMISSION', {
      detail: 'changing the nftables ruleset needs root',
      hint: `Run it as root: ${commands.join('; ')}`,
      data: { commands },
    });
  };
  return {
    system: 'linux',
    async inspect(ports: readonly PortQuestion[], inspectOptions: InspectOptions = {}): Promise<HostInspection> {
      const source = inspectOptions.source ?? ports.map((p) => `${p.port}/${p.protocol}`).join(',');
      let ruleset: LiveRuleset | undefined;
      let rulesetError: unknown;
      const [listeners, iface] = await Promise.all([
        Promise.all(ports.map((p) => findListeners(p.protocol, p.port))),
        defaultInterface(),
        readLiveRuleset(runner).then(
          (read) => {
            ruleset = read;
          },
          (error: unknown) => {
            rulesetError = error;
          },
        ),
      ]);
      const facts = ports.map(
        (p, index): PortHostFacts => ({
          ...p,
          listeners: listeners[index]?.map(({ inode: _inode, ...listener }) => listener),
          firewall: ruleset
            ? linuxFirewallAnswer(
                inspectPort(ruleset, { protocol: p.protocol, port: p.port, ...(iface ? { interface: iface } : {}) }),
                source,
              )
            : unreadable(p, rulesetError),
        }),
      );
      return { ports: facts, sources: ['/proc/net', ...(ruleset?.sources ?? [])], warnings: [] };
    },
    async connections(localPorts) {
      const rows = await readProcSockets('tcp');
      const wanted = new Set(localPorts);
      return rows?.filter((row) => row.state !== PROC_TCP_LISTEN && wanted.has(row.localPort));
    },
    firewall: {
      target: 'nftables',
      container: (manifest) => `inet ${nftTableName(manifest)}`,
      async applyRules(plan) {
        await mustBeRoot(commandsFor(plan).apply);
        const applied = await applyNftables(plan, runner);
        return {
          firewall: FIREWALL,
          container: applied.table,
          rules: [
            ...plan.rules.map((rule) => `${rule.id} ${rule.protocol} ${rule.direction}`),
            ...applied.integrated.map((chain) => `${chain.rules} accept rule(s) at the top of ${chain.chain}`),
          ],
          details: { ...applied },
        };
      },
      async removeRules(manifest) {
        await mustBeRoot([`nft delete table inet ${nftTableName(manifest)}`]);
        const removed = await removeNftables(manifest, runner);
        return {
          firewall: FIREWALL,
          container: `inet ${nftTableName(manifest)}`,
          rules: [
            ...(removed.table ? [`table ${removed.table}`] : []),
            ...(removed.removedRules > 0 ? [`${removed.removedRules} accept rule(s) in other tables' chains`] : []),
          ],
          details: { ...removed },
        };
      },
      commandsFor,
    },
    addresses: () => listInterfaces(),
    folder: (kind) => requiredFolder(kind, env),
    isElevated: async (_options?: AbortOptions) => process.getuid?.() === 0,
  };
}

/** The rules a plan renders to for nftables, for a person to read (the `firewall` command's text). */
export function renderLinuxRules(plan: RulePlan): string {
  return backends.nftables.render(plan)[0]?.content ?? '';
}
