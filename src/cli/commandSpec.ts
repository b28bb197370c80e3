/** The contract between the CLI frame and each command's implementation. */
import type { Output } from './output.js';

/** Exit status of a command that ran: 0 all good, 1 it ran and found a problem. */
export type CheckExit = 0 | 1;

/** What a command returns; the frame prints it as JSON or human text. */
export interface CommandOutcome {
  readonly json: unknown;
  readonly human: () => string;
  readonly exitCode: CheckExit;
  /** Print the JSON on one line (it ends a stream of JSON lines, as `expose --keep --json` writes). */
  readonly jsonLine?: boolean;
}

/** What a command's `run` receives. */
export interface CommandContext {
  readonly args: readonly string[];
  readonly options: Readonly<Record<string, unknown>>;
  readonly output: Output;
  readonly env: NodeJS.ProcessEnv;
  readonly signal: AbortSignal;
}

/** An option as commander spells it: flags, description, optional default. */
export type OptionSpec = readonly [flags: string, description: string, defaultValue?: string];

/** One `porthole` subcommand. A spec without `run` is registered but not built yet. */
export interface CommandSpec {
  readonly name: string;
  /** Arguments in commander syntax, e.g. `<host> <ports>`. */
  readonly args?: string;
  readonly summary: string;
  readonly options?: readonly OptionSpec[];
  /** Subcommands, for `porthole manifest validate|show`. */
  readonly subcommands?: readonly CommandSpec[];
  readonly run?: (context: CommandContext) => Promise<CommandOutcome>;
}
