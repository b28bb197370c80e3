/**
 * The Windows host: one PowerShell process per inspection (listeners, their programs, Windows
 * Defender Firewall and Security Center), a second for the identity proof's connections, and
 * rules applied and removed in porthole's rule group from an elevated process. Every command
 * goes through the injected runner, so this runs on Linux in tests on recorded outputs.
 */
import type { AbortOptions } from '../../deadline/index.js';
import { throwIfAborted } from '../../deadline/index.js';
import { PortholeError } from '../../errors/index.js';
import type { PlannedRule, RulePlan } from '../../firewall/index.js';
import { listInterfaces } from '../../net/index.js';
import { type CommandRunner, localRunner, portholeFolder } from '../../system/index.js';
import type {
  ApplyRulesOptions,
  FirewallChange,
  Host,
  HostInspection,
  HostOptions,
  InspectOptions,
  PortHostFacts,
  PortQuestion,
} from '../types.js';
import {
  applyLines,
  applyScript,
  inboundRules,
  removeRulesCommand,
  removeScript,
  ruleName,
  rulePrefix,
  windowsCommandsFor,
} from './apply.js';
import { judgeWindowsPort, unreadableWindowsAnswer, WINDOWS_FIREWALL } from './judge.js';
import { parseWindowsConnections, windowsListeners } from './listeners.js';
import { parseWindowsProbe, parseWindowsSnapshot, type WindowsProbe } from './parse.js';
import { psStrings } from './psValues.js';
import { connectionsScript, inspectScript, POWERSHELL, powershellArgs, probeScript } from './script.js';

/**
 * Reading hundreds of rules and their filters takes seconds on a busy machine; a PowerShell
 * start alone is 0.3-1 s. Generous, so a slow host is read rather than reported unreadable.
 */
const INSPECT_TIMEOUT_MS = 60_000;
/** Short runs (the probe, connections, applying a few rules). */
const SHORT_TIMEOUT_MS = 20_000;

/** What the inspection read, for the evidence. */
const INSPECT_SOURCES = [
  'powershell.exe (one run): Get-NetTCPConnection -State Listen, Get-NetUDPEndpoint, Get-Process, Get-NetFirewallProfile, Get-NetConnectionProfile, Get-NetFirewallRule with Get-NetFirewallPortFilter/AddressFilter/ApplicationFilter -All, root/SecurityCenter2 FirewallProduct',
];

const ELEVATE_HINT =
  'Open PowerShell with "Run as administrator" and run the lines in data.commands (or run porthole from that prompt).';

function portText(rule: PlannedRule): string {
  return rule.ports.map((span) => (span.start === span.end ? `${span.start}` : `${span.start}-${span.end}`)).join(',');
}

function firstLine(text: string): string {
  return (
    text
      .split(/\r?\n/)
      .map((line) => line.trim())
      .find(Boolean) ?? ''
  );
}

/** The Windows adapter. */
export function createWindowsHost(options: HostOptions = {}): Host {
  const runner: CommandRunner = options.runner ?? localRunner;
  const env = options.env ?? process.env;

  const powershell = async (script: string, timeoutMs: number, signal: AbortSignal | undefined) => {
    throwIfAborted(signal);
    const result = await runner(POWERSHELL, powershellArgs(script), { timeoutMs, ...(signal ? { signal } : {}) });
    throwIfAborted(signal);
    return result;
  };

  const probe = async (signal: AbortSignal | undefined): Promise<WindowsProbe> => {
    const result = await powershell(probeScript(), SHORT_TIMEOUT_MS, signal);
    const parsed = parseWindowsProbe(result.stdout);
    if (!parsed) {
      throw new PortholeError('E_PERMISSION', {
        detail: `could not tell whether this PowerShell is elevated (${firstLine(result.stderr) || firstLine(result.stdout) || `exit ${result.code}`})`,
        hint: ELEVATE_HINT,
      });
    }
    return parsed;
  };

  const inspect = async (
    ports: readonly PortQuestion[],
    inspectOptions: InspectOptions = {},
  ): Promise<HostInspection> => {
    const { signal } = inspectOptions;
    const unreadable = (why: string, evidence: readonly string[]): HostInspection => ({
      ports: ports.map((port) => ({
        ...port,
        listeners: undefined,
        firewall: unreadableWindowsAnswer(port, why, evidence),
      })),
      sources: INSPECT_SOURCES,
      warnings: [why],
    });
    let stdout: string;
    let stderr: string;
    try {
      ({ stdout, stderr } = await powershell(
        inspectScript(ports.map((port) => port.port)),
        INSPECT_TIMEOUT_MS,
        signal,
      ));
    } catch (error) {
      throwIfAborted(signal);
      return unreadable(`${POWERSHELL} could not be run (${(error as Error).message})`, []);
    }
    const parsed = parseWindowsSnapshot(stdout);
    if (!parsed.ok) return unreadable(parsed.problem, stderr.trim() ? [firstLine(stderr)] : []);
    const { snapshot } = parsed;
    const facts = ports.map((port): PortHostFacts => {
      const listeners = windowsListeners(snapshot, port);
      // HTTP.sys listeners belong to System (pid 4), which is how Windows' own rules name them.
      const programs = [
        ...new Set(
          (listeners ?? []).flatMap(
            (listener) => listener.process?.path ?? (listener.process?.pid === 4 ? 'System' : []),
          ),
        ),
      ];
      return { ...port, listeners, firewall: judgeWindowsPort(snapshot, port, programs) };
    });
    const notes = snapshot.sectionErrors.map((error) =>
      error.startsWith('securityCenter:')
        ? `Security Center could not be read (Windows Server has none), so third-party firewalls are not listed: ${error}`
        : `PowerShell: ${error}`,
    );
    const hidden = facts.some((port) => port.listeners?.some((listener) => listener.process && !listener.process.path));
    if (snapshot.elevated === false && hidden) {
      notes.push("not elevated: Windows hides other users' program paths, so rules for a program are not judged");
    }
    return { ports: facts, sources: INSPECT_SOURCES, warnings: [...parsed.warnings, ...notes] };
  };

  const applyRules = async (plan: RulePlan, applyOptions: ApplyRulesOptions = {}): Promise<FirewallChange> => {
    const { signal } = applyOptions;
    const scope = applyOptions.profiles ?? 'active';
    const { elevated, profiles } = await probe(signal);
    if (!elevated) {
      throw new PortholeError('E_PERMISSION', {
        detail: 'adding Windows Defender Firewall rules needs an elevated PowerShell',
        hint: ELEVATE_HINT,
        data: { commands: windowsCommandsFor(plan, scope).apply },
      });
    }
    // The profiles in use now: the rules are for this network's kind, as Windows itself asks.
    const ruleProfiles = scope === 'all' ? ('all' as const) : profiles.length > 0 ? profiles : (['Public'] as const);
    const result = await powershell(
      applyScript(applyLines(plan, ruleProfiles), plan.manifest),
      SHORT_TIMEOUT_MS,
      signal,
    );
    if (result.code !== 0) {
      throw new PortholeError('E_FIREWALL_APPLY', {
        detail: firstLine(result.stderr) || `powershell.exe exited ${result.code}`,
        hint: 'Windows refused a rule; the rules this run had added were removed again. Read the message from PowerShell.',
      });
    }
    const where = ruleProfiles === 'all' ? 'all profiles' : ruleProfiles.join(', ');
    return {
      firewall: WINDOWS_FIREWALL,
      container: `rule group porthole (${rulePrefix(plan.manifest)}*)`,
      rules: inboundRules(plan).map(
        (rule) =>
          `${ruleName(rule, plan.manifest)}: allow ${rule.protocol.toUpperCase()} ${portText(rule)} in (${where})`,
      ),
    };
  };

  const removeRules = async (manifest: string, removeOptions: AbortOptions = {}): Promise<FirewallChange> => {
    const { signal } = removeOptions;
    const { elevated } = await probe(signal);
    if (!elevated) {
      throw new PortholeError('E_PERMISSION', {
        detail: 'removing Windows Defender Firewall rules needs an elevated PowerShell',
        hint: ELEVATE_HINT,
        data: { commands: [removeRulesCommand(manifest)] },
      });
    }
    const result = await powershell(removeScript(manifest), SHORT_TIMEOUT_MS, signal);
    if (result.code !== 0) {
      throw new PortholeError('E_FIREWALL_APPLY', {
        detail: firstLine(result.stderr) || `powershell.exe exited ${result.code}`,
        hint: 'Windows refused to remove a rule; list what is left with Get-NetFirewallRule -Group porthole.',
      });
    }
    let removed: string[] = [];
    try {
      removed = psStrings(result.stdout.trim() ? JSON.parse(result.stdout.replace(/^\uFEFF/, '')) : []) ?? [];
    } catch {
      removed = [];
    }
    return { firewall: WINDOWS_FIREWALL, container: `rule group porthole (${rulePrefix(manifest)}*)`, rules: removed };
  };

  return {
    system: 'windows',
    inspect,
    async connections(localPorts, connectionOptions = {}) {
      const { signal } = connectionOptions;
      try {
        const result = await powershell(connectionsScript(localPorts), SHORT_TIMEOUT_MS, signal);
        if (result.code !== 0) return undefined;
        return parseWindowsConnections(result.stdout);
      } catch {
        // Not shown (no PowerShell, output that is not JSON): identity stays unproven, never guessed.
        throwIfAborted(signal);
        return undefined;
      }
    },
    firewall: {
      target: 'windows',
      container: (manifest) => `rule group porthole (${rulePrefix(manifest)}*)`,
      applyRules,
      removeRules,
      commandsFor: (plan, commandOptions = {}) => windowsCommandsFor(plan, commandOptions.profiles ?? 'active'),
    },
    addresses: () => listInterfaces(),
    // Windows' folders (%LOCALAPPDATA%, %APPDATA%) whatever system the adapter runs on.
    folder: (kind) => portholeFolder(kind, env, { platform: 'win32', processHome: true }) as string,
    isElevated: async (elevationOptions = {}) => {
      try {
        return (await probe(elevationOptions.signal)).elevated;
      } catch (error) {
        throwIfAborted(elevationOptions.signal);
        if (error instanceof PortholeError && error.code === 'E_PERMISSION') return false;
        throw error;
      }
    },
  };
}
