/**
 * The macOS host: listeners from lsof's field output with program files from ps, the
 * Application Firewall from socketfilterfw, pf from pfctl, and porthole's rules loaded into and
 * flushed from a pf anchor per manifest. Reading sockets of other users' processes and pf needs
 * root; without it what could not be seen is said, never taken as "nothing there". Every command
 * goes through the injected runner, so this runs on Linux in tests on recorded outputs.
 */
import type { AbortOptions } from '../../deadline/index.js';
import { throwIfAborted } from '../../deadline/index.js';
import { PortholeError } from '../../errors/index.js';
import { backends, type RulePlan } from '../../firewall/index.js';
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
  PortListener,
  PortQuestion,
} from '../types.js';
import { parseSocketfilterfw } from './alf.js';
import {
  LSOF_CONNECTIONS_ARGS,
  LSOF_LISTEN_ARGS,
  macosCommandsFor,
  pfAnchor,
  psArgs,
  SOCKETFILTERFW,
  SOCKETFILTERFW_ARGS,
} from './commands.js';
import { judgeMacosPort, PF, type PfFacts } from './judge.js';
import { connectionsOn, listeningOn, parseLsofFields, parsePsCommands } from './lsof.js';
import { parsePfInfo, parsePfRules } from './pf.js';

type Ran =
  | { readonly code: number | null; readonly stdout: string; readonly stderr: string }
  | { readonly error: string };

const SOURCES = [
  `lsof ${LSOF_LISTEN_ARGS.join(' ')}`,
  'ps -o pid=,comm= -p PIDS',
  `${SOCKETFILTERFW} ${SOCKETFILTERFW_ARGS.join(' ')}`,
  'pfctl -s info',
  'pfctl -s rules',
];

function firstLine(text: string): string {
  return (
    text
      .split(/\r?\n/)
      .map((line) => line.trim())
      .find(Boolean) ?? ''
  );
}

function problemOf(ran: Ran, what: string): string {
  if ('error' in ran) return `${what} could not be run (${ran.error})`;
  const said = firstLine(ran.stderr) || firstLine(ran.stdout);
  return /permission denied|operation not permitted/i.test(said)
    ? `${what} needs root (${said})`
    : `${what} failed (${said || `exit ${ran.code}`})`;
}

/** The macOS adapter. */
export function createMacosHost(options: HostOptions = {}): Host {
  const runner: CommandRunner = options.runner ?? localRunner;
  const env = options.env ?? process.env;

  /** Runs a command; a command that cannot start is a result here, not an exception. */
  const run = async (command: string, args: readonly string[], signal?: AbortSignal, input?: string): Promise<Ran> => {
    throwIfAborted(signal);
    try {
      const result = await runner(command, args, {
        ...(signal ? { signal } : {}),
        ...(input !== undefined ? { input } : {}),
      });
      throwIfAborted(signal);
      return result;
    } catch (error) {
      throwIfAborted(signal);
      return { error: (error as Error).message };
    }
  };
  const isRoot = async (signal?: AbortSignal) => {
    const ran = await run('id', ['-u'], signal);
    return !('error' in ran) && ran.stdout.trim() === '0';
  };
  /**
   * lsof exits 1 when it finds nothing to list, and also when it lists what it can but met an
   * error on the way (another user's process, as non-root): both are answers, not failures.
   */
  const lsofOk = (ran: Ran): ran is Exclude<Ran, { error: string }> =>
    !('error' in ran) && (ran.code === 0 || ran.code === 1);

  const inspect = async (
    ports: readonly PortQuestion[],
    inspectOptions: InspectOptions = {},
  ): Promise<HostInspection> => {
    const { signal } = inspectOptions;
    const source = inspectOptions.source ?? ports.map((port) => `${port.port}/${port.protocol}`).join(',');
    const warnings: string[] = [];
    const [lsof, root, alfRan, infoRan] = await Promise.all([
      run('lsof', LSOF_LISTEN_ARGS, signal),
      isRoot(signal),
      run(SOCKETFILTERFW, SOCKETFILTERFW_ARGS, signal),
      run('pfctl', ['-s', 'info'], signal),
    ]);
    const parsed = lsofOk(lsof) ? parseLsofFields(lsof.stdout) : undefined;
    if (!parsed) warnings.push(problemOf(lsof, 'lsof'));
    if (parsed && parsed.skipped > 0) warnings.push(`lsof: ${parsed.skipped} line(s) could not be read`);
    const found = ports.map((port) => (parsed ? listeningOn(parsed.sockets, port.protocol, port.port) : undefined));
    const pids = [...new Set(found.flatMap((sockets) => (sockets ?? []).map((socket) => socket.pid)))];
    const pfStatus = 'error' in infoRan ? undefined : parsePfInfo(infoRan.stdout);
    const [psRan, rulesRan] = await Promise.all([
      pids.length > 0 ? run('ps', psArgs(pids), signal) : Promise.resolve(undefined),
      pfStatus === 'enabled' ? run('pfctl', ['-s', 'rules'], signal) : Promise.resolve(undefined),
    ]);
    const programs = psRan && !('error' in psRan) ? parsePsCommands(psRan.stdout) : new Map<number, string>();
    const pf: PfFacts =
      pfStatus === undefined
        ? { status: undefined, rules: undefined, problem: problemOf(infoRan, 'pfctl -s info') }
        : pfStatus === 'disabled'
          ? { status: 'disabled', rules: undefined }
          : rulesRan && !('error' in rulesRan) && rulesRan.code === 0
            ? { status: 'enabled', rules: parsePfRules(rulesRan.stdout) }
            : {
                status: 'enabled',
                rules: undefined,
                problem: rulesRan ? problemOf(rulesRan, 'pfctl -s rules') : 'not run',
              };
    const alfOk = !('error' in alfRan) && (alfRan.code === 0 || alfRan.stdout.trim() !== '');
    const alf = alfOk ? parseSocketfilterfw(alfRan.stdout) : undefined;
    const alfProblem = alfOk ? undefined : problemOf(alfRan, 'socketfilterfw');
    if (!root) {
      warnings.push("not root: lsof shows this user's processes only, and pf cannot be read");
    }
    const facts = ports.map((port, index): PortHostFacts => {
      const sockets = found[index];
      // Without root, lsof cannot see other users' processes (a launchd daemon, a server run as
      // another user): an empty answer then proves nothing, so the listeners are unknown.
      const listeners: PortListener[] | undefined =
        sockets === undefined || (sockets.length === 0 && !root)
          ? undefined
          : sockets.map((socket) => {
              const path = programs.get(socket.pid);
              return {
                protocol: port.protocol,
                address: socket.local?.address ?? '?',
                port: port.port,
                process: { pid: socket.pid, name: socket.command, ...(path ? { path } : {}) },
              };
            });
      const program = listeners?.find((listener) => listener.process?.path)?.process?.path;
      return {
        ...port,
        listeners,
        firewall: judgeMacosPort({ alf, ...(alfProblem ? { alfProblem } : {}), pf }, port, program, source),
      };
    });
    return { ports: facts, sources: SOURCES, warnings: [...warnings, ...(alf?.warnings ?? [])] };
  };

  const requireRoot = async (signal: AbortSignal | undefined, detail: string, commands: readonly string[]) => {
    if (!(await isRoot(signal))) {
      throw new PortholeError('E_PERMISSION', {
        detail,
        hint: 'Run the lines in data.commands (they use sudo), or run porthole with sudo.',
        data: { commands },
      });
    }
  };

  const applyRules = async (plan: RulePlan, applyOptions: ApplyRulesOptions = {}): Promise<FirewallChange> => {
    const { signal } = applyOptions;
    await requireRoot(signal, 'loading pf rules needs root', macosCommandsFor(plan).apply);
    const anchor = pfAnchor(plan.manifest);
    const content = backends.pf.render(plan)[0]?.content ?? '';
    const loaded = await run('pfctl', ['-a', anchor, '-f', '-'], signal, content);
    if ('error' in loaded || loaded.code !== 0) {
      throw new PortholeError('E_FIREWALL_APPLY', {
        detail: problemOf(loaded, `pfctl -a ${anchor} -f -`),
        hint: 'pfctl loads an anchor as a whole or not at all; nothing was changed. Read the message from pfctl.',
      });
    }
    // pf evaluates an anchor only where the main ruleset calls it (`anchor "porthole/*"` in /etc/pf.conf).
    const main = await run('pfctl', ['-s', 'rules'], signal);
    const hooked = !('error' in main) && /^anchor "porthole\/\*"/m.test(main.stdout);
    return {
      firewall: PF,
      container: `anchor ${anchor}`,
      rules: [
        ...plan.rules.map((rule) => `${rule.id} ${rule.protocol} ${rule.direction}`),
        ...(hooked
          ? []
          : ['note: the main ruleset does not call anchor "porthole/*" (add it to /etc/pf.conf and reload)']),
      ],
    };
  };

  const removeRules = async (manifest: string, removeOptions: AbortOptions = {}): Promise<FirewallChange> => {
    const { signal } = removeOptions;
    const anchor = pfAnchor(manifest);
    await requireRoot(signal, 'flushing a pf anchor needs root', [`sudo pfctl -a ${anchor} -F rules`]);
    const flushed = await run('pfctl', ['-a', anchor, '-F', 'rules'], signal);
    if ('error' in flushed || flushed.code !== 0) {
      throw new PortholeError('E_FIREWALL_APPLY', {
        detail: problemOf(flushed, `pfctl -a ${anchor} -F rules`),
        hint: 'pfctl refused to flush the anchor; list it with pfctl -a porthole -s rules.',
      });
    }
    return { firewall: PF, container: `anchor ${anchor}`, rules: [`rules of anchor ${anchor}`] };
  };

  return {
    system: 'macos',
    inspect,
    async connections(localPorts, connectionOptions = {}) {
      const { signal } = connectionOptions;
      const [ran, root] = await Promise.all([run('lsof', LSOF_CONNECTIONS_ARGS, signal), isRoot(signal)]);
      if (!lsofOk(ran)) return undefined;
      const connections = connectionsOn(parseLsofFields(ran.stdout).sockets, localPorts);
      // Without root another user's server's connections are invisible: none seen proves nothing.
      return connections.length === 0 && !root ? undefined : connections;
    },
    firewall: {
      target: 'pf',
      container: (manifest) => `anchor ${pfAnchor(manifest)}`,
      applyRules,
      removeRules,
      commandsFor: (plan) => macosCommandsFor(plan),
    },
    addresses: () => listInterfaces(),
    // macOS folders (~/Library/Application Support) whatever system the adapter runs on.
    folder: (kind) => portholeFolder(kind, env, { platform: 'darwin', processHome: true }) as string,
    isElevated: async (elevationOptions = {}) => isRoot(elevationOptions.signal),
  };
}
