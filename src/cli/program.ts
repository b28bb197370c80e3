/**
 * The command-line frame: global flags, subcommand registration, and the mapping of every
 * outcome onto the contract's exit codes (0 good, 1 problem found, 2 usage, 3 operational,
 * 130 interrupted), and which command modules a start loads.
 */
import { Command, CommanderError, Option } from 'commander';
import { withConfiguredOptions } from '../config/index.js';
import { exitCodeFor, isPortholeError, PortholeError } from '../errors/index.js';
import { packageVersion } from '../system/index.js';
import { commandDeadlineSeconds, underDeadline } from './commandDeadline.js';
import type { CommandOutcome, CommandSpec } from './commandSpec.js';
import { Output, type OutputOptions } from './output.js';

/** What runCli needs from the process; tests pass their own. */
export interface CliEnvironment {
  readonly stdout: OutputOptions['stdout'];
  readonly stderr: OutputOptions['stderr'];
  readonly env: NodeJS.ProcessEnv;
  readonly signal?: AbortSignal;
  /** Called when a command outlived its deadline and was abandoned: the process should end soon. */
  readonly abandon?: () => void;
}

/** Commander's error codes that are not failures (help or version was asked for and printed). */
const INFORMATIONAL = new Set(['commander.helpDisplayed', 'commander.version']);

/** Maps commander's parse errors onto our registry. */
function usageError(error: CommanderError): PortholeError {
  // Commander says "error: unknown command 'x'"; our registry message already names the condition.
  const detail = error.message.replace(/^error:\s*/, '').replace(/^unknown (command|option) /, '');
  if (error.code === 'commander.unknownCommand') return new PortholeError('E_UNKNOWN_COMMAND', { detail });
  if (error.code === 'commander.unknownOption') return new PortholeError('E_UNKNOWN_OPTION', { detail });
  return new PortholeError('E_USAGE', { detail });
}

/** Global flags, read before parsing so errors during parsing honour --json. */
function globalFlags(argv: readonly string[]): { json: boolean; verbose: boolean } {
  const beforeDashDash = argv.includes('--') ? argv.slice(0, argv.indexOf('--')) : argv;
  return {
    json: beforeDashDash.includes('--json'),
    verbose: beforeDashDash.includes('--verbose') || beforeDashDash.includes('-v'),
  };
}

function register(parent: Command, spec: CommandSpec, run: (spec: CommandSpec, command: Command) => Promise<void>) {
  const command = parent.command(spec.name).description(spec.summary);
  if (spec.args) command.arguments(spec.args);
  for (const [flags, description, defaultValue] of spec.options ?? []) {
    const option = new Option(flags, description);
    if (defaultValue !== undefined) option.default(defaultValue);
    command.addOption(option);
  }
  if (spec.subcommands) {
    for (const sub of spec.subcommands) register(command, sub, run);
    return;
  }
  command.action(async (...params: unknown[]) => run(spec, params.at(-1) as Command));
}

/** `porthole manifest show`, from a leaf command up to the program. */
function commandPath(command: Command): string {
  const names: string[] = [];
  for (let at: Command | null = command; at; at = at.parent) names.unshift(at.name());
  return names.join(' ');
}

/**
 * Each command's module, so that a start loads only the command it runs (its module and what
 * that imports) rather than all of them: most of a cold start is loading modules. A command not
 * listed here (or `--help`, or no command) loads them all from commands/index.
 */
const COMMAND_MODULES: Readonly<Record<string, () => Promise<Record<string, unknown>>>> = {
  serve: () => import('./commands/serve.js'),
  check: () => import('./commands/check.js'),
  probe: () => import('./commands/probe.js'),
  egress: () => import('./commands/egress.js'),
  gateway: () => import('./commands/gateway.js'),
  map: () => import('./commands/gateway.js'),
  unmap: () => import('./commands/gateway.js'),
  mappings: () => import('./commands/gateway.js'),
  nat: () => import('./commands/nat.js'),
  manifest: () => import('./commands/manifest.js'),
  firewall: () => import('./commands/firewall.js'),
  doctor: () => import('./commands/doctor.js'),
  expose: () => import('./commands/expose.js'),
  relay: () => import('./commands/relay.js'),
  name: () => import('./commands/name.js'),
  discover: () => import('./commands/discover.js'),
  config: () => import('./commands/config.js'),
  cleanup: () => import('./commands/cleanup.js'),
  ui: () => import('./commands/ui.js'),
};

/** Commands that work on what porthole leaves on the router or host: they mention a dead process's leftovers. */
const TOUCHES_LEFTOVERS = new Set(['map', 'unmap', 'mappings', 'doctor', 'expose', 'firewall']);

/**
 * Says on stderr (so --json's stdout stays one document) what porthole processes that no longer
 * run left behind, and the fix: a SIGKILL or a crash gives a process no chance to clean up.
 */
async function noticeLeftovers(output: Output, env: NodeJS.ProcessEnv): Promise<void> {
  const { deadOwnerRecords } = await import('../library/index.js');
  const dead = deadOwnerRecords(env);
  if (dead.length === 0) return;
  const what = dead.map((record) =>
    record.kind === 'mapping'
      ? `mapping ${record.mapping.externalPort}/${record.mapping.protocol} -> ${record.mapping.internalAddress}:${record.mapping.internalPort} (pid ${record.pid})`
      : record.kind === 'mapping-request'
        ? `a mapping asked for ${record.request.internalPort}/${record.request.protocol} (pid ${record.pid})`
        : `firewall table ${record.table} (pid ${record.pid})`,
  );
  output.notice(
    `left behind by porthole processes that no longer run: ${what.join('; ')}. Remove with: porthole cleanup`,
  );
}

/**
 * Says on stderr which of porthole's state files were found damaged and moved aside during the
 * command: what they held (mappings, records cleanup needs) is not lost, but no longer read.
 */
async function noticeQuarantined(output: Output): Promise<void> {
  const { takeQuarantinedStateFiles } = await import('../system/index.js');
  for (const file of takeQuarantinedStateFiles())
    output.notice(
      `porthole's state file ${file.path} could not be read (${file.why}): moved aside to ${file.movedTo}, not overwritten. Look at it, and remove what it lists by hand (\`porthole mappings\`, the router's page) before deleting it.`,
    );
}

/** The first word of argv that is not a flag (global flags take no value): the command's name. */
function commandWord(argv: readonly string[]): string | undefined {
  for (const word of argv) {
    if (word === '--') return undefined;
    if (!word.startsWith('-')) return word;
  }
  return undefined;
}

/** The specs to register: only the named command's when its module is known, else all of them. */
async function commandsFor(argv: readonly string[]): Promise<readonly CommandSpec[]> {
  const word = commandWord(argv);
  const load = word !== undefined && Object.hasOwn(COMMAND_MODULES, word) ? COMMAND_MODULES[word] : undefined;
  if (load) {
    const spec = Object.values(await load()).find(
      (value): value is CommandSpec =>
        typeof value === 'object' && value !== null && (value as CommandSpec).name === word,
    );
    if (spec) return [spec];
  }
  return (await import('./commands/index.js')).commands;
}

/** Runs porthole with `argv` (without node and script); resolves to the exit status. */
export async function runCli(argv: readonly string[], environment: CliEnvironment): Promise<number> {
  const flags = globalFlags(argv);
  const output = new Output({ ...environment, ...flags });
  let exitCode = 0;

  const program = new Command('porthole')
    .description('Make a self-hosted server reachable from the internet, and prove it.')
    .version(packageVersion(), '-V, --version', 'print the version')
    .option('--json', 'print exactly one JSON document on stdout')
    .option('-v, --verbose', 'explain what happens, on stderr')
    .option('--deadline <seconds>', "the command's overall deadline (default: the sum of its steps' deadlines)")
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => environment.stdout.write(text),
      // Commander's own error text is replaced by our coded error below; with --json its help
      // text (printed when a subcommand is missing) gives way to the one JSON document.
      writeErr: (text) => {
        if (!text.startsWith('error:') && !flags.json) environment.stderr.write(text);
      },
    });
  program.addHelpText(
    'after',
    '\nExit status: 0 all good, 1 a check found a problem, 2 bad input or usage, 3 operational error, 130 interrupted.\nThe checker URL, STUN server and other settings can also come from the environment (PORTHOLE_CHECKER,\nPORTHOLE_STUN ...) or the configuration file: see `porthole config show`.',
  );

  const runSpec = async (spec: CommandSpec, command: Command) => {
    if (!spec.run) {
      throw new PortholeError('E_NOT_AVAILABLE', { detail: commandPath(command) });
    }
    // Flags the command declares that a configuration key stands for (--checker, --stun,
    // --timeout ...) take their value from the environment or the files when not given.
    const { options, filled } = withConfiguredOptions(
      (spec.options ?? []).map(([flags]) => flags),
      command.optsWithGlobals(),
      environment.env,
      (name) => {
        const source = command.getOptionValueSource(name);
        return source !== undefined && source !== 'default';
      },
    );
    for (const [key, from] of Object.entries(filled)) output.debug(`${key} from ${from}`);
    if (TOUCHES_LEFTOVERS.has(spec.name)) await noticeLeftovers(output, environment.env);
    const path = commandPath(command).replace(/^porthole /, '');
    const outcome = await underDeadline(
      path,
      commandDeadlineSeconds(path, options),
      environment.signal ?? new AbortController().signal,
      (signal) =>
        spec.run?.({ args: command.args, options, output, env: environment.env, signal }) as Promise<CommandOutcome>,
      () => environment.abandon?.(),
    );
    await output.result(outcome.json, outcome.human, outcome.jsonLine === true);
    // A command that ran until interrupted (--keep, serve) printed its result after removing what it
    // made; the exit status is still the contract's for Ctrl-C.
    const reason: unknown = environment.signal?.aborted ? environment.signal.reason : undefined;
    exitCode = isPortholeError(reason) && reason.code === 'E_ABORTED' ? 130 : outcome.exitCode;
  };
  for (const spec of await commandsFor(argv)) register(program, spec, runSpec);
  // Commander applies exitOverride and output settings to subcommands created after them.
  for (const command of program.commands) {
    command.exitOverride().configureOutput(program.configureOutput());
    for (const sub of command.commands) sub.exitOverride().configureOutput(program.configureOutput());
  }

  try {
    if (argv.length === 0 && !flags.json) {
      program.outputHelp();
      return 2;
    }
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // `porthole`, `porthole --json`, `porthole manifest`: a command is missing. Commander printed
      // the help (not with --json); the outcome is a usage error that names the choices.
      // Commander gives `porthole help` (asked for) and a missing command (help as an error) the
      // same code; only the exit code it proposes tells them apart.
      if (error.code === 'commander.help' && error.exitCode !== 0)
        return exitCodeFor(output.error(missingCommand(program, argv)));
      if (error.code === 'commander.help') return 0;
      if (INFORMATIONAL.has(error.code)) return 0;
      return exitCodeFor(output.error(usageError(error)));
    }
    return exitCodeFor(output.error(interrupted(error, environment.signal)));
  } finally {
    await noticeQuarantined(output);
  }
}

/** E_USAGE for a command line that stops before a (sub)command, with the commands it could name. */
function missingCommand(program: Command, argv: readonly string[]): PortholeError {
  let at = program;
  for (const word of argv) {
    const next = at.commands.find((command) => command.name() === word);
    if (!next) break;
    at = next;
  }
  const choices = at.commands.map((command) => command.name());
  return new PortholeError('E_USAGE', {
    detail: `\`${commandPath(at)}\` needs a command: ${choices.join(', ')}`,
    data: { commands: choices },
  });
}

/**
 * Whatever a command threw after the user's Ctrl-C (a socket error, a wrapped timeout) is
 * reported as the interruption it really is: E_ABORTED, exit 130, with the error as cause.
 */
function interrupted(error: unknown, signal: AbortSignal | undefined): unknown {
  if (!signal?.aborted || (isPortholeError(error) && error.code === 'E_ABORTED')) return error;
  const reason: unknown = signal.reason;
  const detail = isPortholeError(reason) && reason.code === 'E_ABORTED' ? reason.detail : undefined;
  return new PortholeError('E_ABORTED', { ...(detail ? { detail } : {}), cause: error });
}
