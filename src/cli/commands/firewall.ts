/**
 * `porthole firewall (FILE|PORTS) --target T [--out DIR] [--apply|--remove]` and
 * `porthole firewall (FILE|PORTS) --inspect`: rules for six firewalls, nftables apply and
 * removal on Linux, and what the live ruleset does to each inbound port now.
 */
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PortholeError } from '../../errors/index.js';
import {
  backends,
  defaultInterface,
  FIREWALL_TARGETS,
  type FirewallTarget,
  inspectPort,
  PIPE_READERS,
  type PortAnswer,
  pipedFile,
  planRules,
  type RenderedFile,
  readLiveRuleset,
  resolveManifestNames,
} from '../../firewall/index.js';
import type { FirewallChange, Host } from '../../host/index.js';
import type { Manifest } from '../../manifest/index.js';
import type { CommandOutcome, CommandSpec } from '../commandSpec.js';
import type { Output } from '../output.js';

/** Ranges longer than this are inspected at their two ends only (the answer is said to be partial). */
const MAX_INSPECTED_RANGE = 64;

function targetOf(value: unknown): FirewallTarget {
  if (typeof value !== 'string') {
    throw new PortholeError('E_FIREWALL_TARGET', { detail: 'no --target given' });
  }
  if (!FIREWALL_TARGETS.includes(value as FirewallTarget)) {
    throw new PortholeError('E_FIREWALL_TARGET', { detail: `"${value}"` });
  }
  return value as FirewallTarget;
}

/** Writes each file through a temporary name and a rename, so no partial file is ever left. */
async function writeFilesAtomically(dir: string, files: readonly RenderedFile[]): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const temporary = files.map((file) => join(dir, `.${file.name}.${process.pid}.tmp`));
  try {
    await Promise.all(files.map((file, index) => writeFile(temporary[index] as string, file.content, { mode: 0o644 })));
    await Promise.all(files.map((file, index) => rename(temporary[index] as string, join(dir, file.name))));
  } catch (error) {
    await Promise.all(temporary.map((path) => rm(path, { force: true })));
    throw error;
  }
  return files.map((file) => join(dir, file.name));
}

/** --apply and --remove work on this system's own firewall only. */
async function assertCanApply(target: FirewallTarget): Promise<void> {
  const { currentHost } = await import('../../host/index.js');
  const own = currentHost().firewall.target;
  if (target !== own)
    throw new PortholeError('E_FIREWALL_UNSUPPORTED', {
      detail: `--target ${target} on ${process.platform}: this system applies ${own}`,
      hint: `Use --target ${own} to apply here, or write the ${target} rules with --out DIR and apply them on that system.`,
    });
}

/** What changed, as JSON: the system's own details (nftables: table, integrated chains), and one line per rule. */
function changeJson(change: FirewallChange) {
  return { ...change.details, firewall: change.firewall, container: change.container, lines: change.rules };
}

async function inspect(manifest: Manifest, options: Record<string, unknown>): Promise<CommandOutcome> {
  const ruleset = await readLiveRuleset();
  const iface = typeof options.interface === 'string' ? options.interface : await defaultInterface();
  const remote = typeof options.from === 'string' ? options.from : undefined;
  const answers: PortAnswer[] = [];
  const partial: string[] = [];
  for (const entry of manifest.entries.filter((e) => e.direction === 'inbound')) {
    for (const range of entry.ports) {
      const long = range.end - range.start + 1 > MAX_INSPECTED_RANGE;
      if (long) partial.push(`${range.protocol}/${range.start}-${range.end}: only its two ends were inspected`);
      const ports = long
        ? [range.start, range.end]
        : Array.from({ length: range.end - range.start + 1 }, (_, i) => range.start + i);
      for (const port of ports) {
        if (answers.some((answer) => answer.port === port && answer.protocol === range.protocol)) continue;
        answers.push(
          inspectPort(ruleset, {
            protocol: range.protocol,
            port,
            ...(iface ? { interface: iface } : {}),
            ...(remote ? { remote } : {}),
          }),
        );
      }
    }
  }
  const blocked = answers.filter((answer) => answer.verdict !== 'accept');
  return {
    exitCode: blocked.length > 0 ? 1 : 0,
    json: { interface: iface, sources: ruleset.sources, partial, results: answers },
    human: () =>
      [
        `Host firewall, ${ruleset.sources.join(' + ') || 'no ruleset readable'}${iface ? `, arriving on ${iface}` : ''}:`,
        ...answers.map((answer) => {
          const by = answer.decidedBy
            ? `${answer.decidedBy.table} ${answer.decidedBy.chain}: ${answer.decidedBy.rule}`
            : 'no filter chain (nothing filters this hook)';
          const doubt = answer.certain ? '' : `\n      uncertain: ${answer.uncertainRules.join('; ')}`;
          return `  ${`${answer.protocol}/${answer.port}`.padEnd(11)} ${answer.verdict.padEnd(6)} by ${by}${doubt}`;
        }),
        ...partial.map((line) => `  note: ${line}`),
      ].join('\n'),
  };
}

/** What this system's host firewall does to each inbound port (Windows, macOS). */
async function inspectHost(host: Host, manifest: Manifest, signal: AbortSignal): Promise<CommandOutcome> {
  const ports = manifest.entries
    .filter((entry) => entry.direction === 'inbound')
    .flatMap((entry) =>
      entry.ports.flatMap((range) =>
        range.end - range.start < MAX_INSPECTED_RANGE
          ? [...Array(range.end - range.start + 1).keys()].map((i) => ({
              protocol: range.protocol,
              port: range.start + i,
            }))
          : [
              { protocol: range.protocol, port: range.start },
              { protocol: range.protocol, port: range.end },
            ],
      ),
    );
  const inspection = await host.inspect(ports, { signal, source: manifest.source });
  const blocked = inspection.ports.filter((p) => p.firewall.verdict !== 'accept');
  return {
    exitCode: blocked.length > 0 ? 1 : 0,
    json: {
      sources: inspection.sources,
      warnings: inspection.warnings,
      results: inspection.ports.map((p) => ({ protocol: p.protocol, port: p.port, ...p.firewall })),
    },
    human: () =>
      [
        `Host firewall (${inspection.sources.join(' + ')}):`,
        ...inspection.ports.map(
          (p) => `  ${`${p.protocol}/${p.port}`.padEnd(11)} ${p.firewall.verdict.padEnd(7)} ${p.firewall.summary}`,
        ),
        ...inspection.warnings.map((warning) => `  warning: ${warning}`),
      ].join('\n'),
  };
}

function describeFiles(files: readonly RenderedFile[]): string {
  if (files.length === 1) return files[0]?.content ?? '';
  return files.map((file) => `==> ${file.name} <==\n${file.content}`).join('\n');
}

/** --family 4|6: which of iptables' two files (IPv4 for iptables-restore, IPv6 for ip6tables-restore). */
function familyOf(value: unknown, target: FirewallTarget): 4 | 6 | undefined {
  if (value === undefined) return undefined;
  if (value !== '4' && value !== '6')
    throw new PortholeError('E_USAGE', { detail: `--family must be 4 or 6, not "${String(value)}"` });
  if (target !== 'iptables')
    throw new PortholeError('E_USAGE', {
      detail: `--family applies to --target iptables (its IPv4 and IPv6 rules are separate files); ${target} covers both`,
    });
  return value === '6' ? 6 : 4;
}

/**
 * Text for stdout: exactly the file the target's tool reads from stdin, so it pipes (`| iptables-restore
 * --noflush`); what is left out is named on stderr. Targets whose files only work together print them all.
 */
function pipedText(
  output: Output,
  target: FirewallTarget,
  files: readonly RenderedFile[],
  family: 4 | 6 | undefined,
): string {
  const chosen = pipedFile(target, files, family);
  if (!chosen) {
    output.notice(`${target}: its files work together; write them with --out DIR and run the script there`);
    return describeFiles(files);
  }
  for (const other of chosen.others) {
    const how = target === 'iptables' ? `--family ${other.name.endsWith('.v6') ? 6 : 4}` : '--out DIR';
    output.notice(
      `not printed: ${other.name} (${how}; --out DIR writes every file). Pipe into: ${PIPE_READERS[target]}`,
    );
  }
  return chosen.piped.content;
}

async function run(
  args: readonly string[],
  options: Record<string, unknown>,
  output: Output,
  env: NodeJS.ProcessEnv,
  signal: AbortSignal,
): Promise<CommandOutcome> {
  // YAML and zod load only when a command reads a manifest.
  const { loadManifestOrPorts } = await import('../../manifest/index.js');
  const manifest = await loadManifestOrPorts(args[0] ?? '');
  if (options.inspect) {
    const { currentHost } = await import('../../host/index.js');
    const host = currentHost({ env });
    // Linux answers with its nftables model in full (the deciding rule, --from, --interface); other
    // systems answer through the host interface (the firewall's verdict and why, by name).
    return host.system === 'linux' ? inspect(manifest, options) : inspectHost(host, manifest, signal);
  }
  if (options.apply && options.remove) throw new PortholeError('E_USAGE', { detail: '--apply and --remove together' });
  const target = targetOf(options.target);
  if (options.remove) {
    await assertCanApply(target);
    const { closeHostFirewall } = await import('../../library/index.js');
    const removed = await closeHostFirewall({ ports: manifest, env, signal });
    return {
      exitCode: 0,
      json: { target, manifest: manifest.name, removed: changeJson(removed) },
      human: () =>
        removed.rules.length > 0
          ? `removed from ${removed.firewall}: ${removed.rules.join('; ')}`
          : `nothing to remove: no porthole rules for "${manifest.name}" are installed`,
    };
  }
  if (options.apply) await assertCanApply(target);
  const resolutions = await resolveManifestNames(manifest);
  const plan = planRules(manifest, resolutions);
  for (const note of plan.notes) output.debug(note);
  const family = familyOf(options.family, target);
  const rendered = backends[target].render(plan);
  // With --family, only that family's file, printed or written.
  const files = family
    ? pipedFile(target, rendered, family)?.piped
      ? [pipedFile(target, rendered, family)?.piped as RenderedFile]
      : rendered
    : rendered;
  const written = typeof options.out === 'string' ? await writeFilesAtomically(options.out, files) : [];
  if (options.apply) {
    const { openHostFirewall } = await import('../../library/index.js');
    const { change } = await openHostFirewall({
      ports: manifest,
      env,
      signal,
      ...(options.allProfiles === true ? { profiles: 'all' as const } : {}),
    });
    const warnings = (change.details?.warnings as readonly string[] | undefined) ?? [];
    return {
      exitCode: 0,
      json: { target, manifest: manifest.name, notes: plan.notes, applied: changeJson(change) },
      human: () =>
        [
          `applied ${change.container} in ${change.firewall} (${change.rules.length} rules) in one transaction:`,
          ...change.rules.map((rule) => `  ${rule}`),
          ...warnings.map((warning) => `warning: ${warning}`),
          ...plan.notes.map((note) => `note: ${note}`),
          `remove with: porthole firewall ${args[0]} --target ${target} --remove`,
        ].join('\n'),
    };
  }
  return {
    exitCode: 0,
    json: { target, manifest: manifest.name, notes: plan.notes, files, written },
    human: () => (written.length > 0 ? `wrote ${written.join(', ')}` : pipedText(output, target, files, family)),
  };
}

/** The `firewall` command. */
export const firewallCommand: CommandSpec = {
  name: 'firewall',
  args: '<source>',
  summary: "host firewall rules for a manifest FILE or PORTS; apply, remove or inspect this system's firewall",
  options: [
    ['--target <firewall>', FIREWALL_TARGETS.join(', ')],
    ['--out <dir>', 'write every file into DIR (atomically) instead of printing the one its tool reads from stdin'],
    ['--family <4|6>', 'iptables: the IPv4 (default, for iptables-restore) or IPv6 (ip6tables-restore) rules'],
    ['--apply', "install the rules in this system's firewall (nftables on Linux, windows, pf on macOS; elevated)"],
    ['--remove', "remove porthole's rules for this manifest from this system's firewall (elevated)"],
    ['--all-profiles', 'windows: apply for every profile (Domain, Private, Public), not just the one in use'],
    ['--inspect', 'say whether the live ruleset accepts each inbound port now, and which rule decides'],
    ['--from <address>', 'with --inspect: the remote address (default: any internet address)'],
    ['--interface <name>', "with --inspect: the arriving interface (default: the default route's)"],
  ],
  run: ({ args, options, output, env, signal }) => run(args, options, output, env, signal),
};
