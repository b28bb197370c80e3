/**
 * The command-line frame: global flags, subcommand registration, and the mapping of every
 * outcome onto the contract's exit codes (0 good, 1 problem found, 2 usage, 3 operational).
 */
import { Command, CommanderError, Option } from 'commander';
import { exitCodeFor, PortholeError } from '../errors/index.js';
import type { CommandSpec } from './commandSpec.js';
import { commands } from './commands/index.js';
import { Output, type OutputOptions } from './output.js';
import { packageVersion } from './version.js';

/** What runCli needs from the process; tests pass their own. */
export interface CliEnvironment {
  readonly stdout: OutputOptions['stdout'];
  readonly stderr: OutputOptions['stderr'];
  readonly env: NodeJS.ProcessEnv;
  readonly signal?: AbortSignal;
}

/** Commander's error codes that are not failures (help and version were printed). */
const INFORMATIONAL = new Set(['commander.helpDisplayed', 'commander.version', 'commander.help']);

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
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => environment.stdout.write(text),
      // Commander's own error text is replaced by our coded error below.
      writeErr: (text) => {
        if (!text.startsWith('error:')) environment.stderr.write(text);
      },
    });
  program.addHelpText(
    'after',
    '\nExit status: 0 all good, 1 a check found a problem, 2 bad input or usage, 3 operational error.\nThe checker URL can also come from PORTHOLE_CHECKER.',
  );

  const runSpec = async (spec: CommandSpec, command: Command) => {
    if (!spec.run) {
      throw new PortholeError('E_NOT_AVAILABLE', { detail: commandPath(command) });
    }
    const outcome = await spec.run({
      args: command.args,
      options: command.optsWithGlobals(),
      output,
      env: environment.env,
      signal: environment.signal ?? new AbortController().signal,
    });
    await output.result(outcome.json, outcome.human, outcome.jsonLine === true);
    exitCode = outcome.exitCode;
  };
  for (const spec of commands) register(program, spec, runSpec);
  // Commander applies exitOverride and output settings to subcommands created after them.
  for (const command of program.commands) {
    command.exitOverride().configureOutput(program.configureOutput());
    for (const sub of command.commands) sub.exitOverride().configureOutput(program.configureOutput());
  }

  try {
    if (argv.length === 0) {
      program.outputHelp();
      return 2;
    }
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (INFORMATIONAL.has(error.code)) return 0;
      return exitCodeFor(output.error(usageError(error)));
    }
    return exitCodeFor(output.error(error));
  }
}
