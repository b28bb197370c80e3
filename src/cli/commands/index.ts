/** Every `porthole` subcommand, built or planned. */
import type { CommandSpec } from '../commandSpec.js';
import { plannedCommands } from './planned.js';

/** The registered commands, in the order `--help` lists them. */
export const commands: readonly CommandSpec[] = plannedCommands;
