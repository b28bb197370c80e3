/**
 * A CommandRunner that answers with recorded outputs, so a Windows or macOS host runs on Linux.
 * Every call is kept (command, arguments, stdin) for tests to assert on. A command no recording
 * answers is an error for the adapter AND is kept in `unexpected`, which `assertExpected` turns
 * into a failing assertion: adapters catch runner failures (a missing tool is a fact to report),
 * so a throw alone would not fail the test.
 */
import assert from 'node:assert/strict';
import type { CommandRunner } from '../../src/system/index.js';

/** One recorded answer: which command (and optionally which arguments) it answers, and what it printed. */
export interface Recording {
  readonly command: string;
  /** Matches the arguments exactly (an array) or by a test; absent matches any. */
  readonly args?: readonly string[] | ((args: readonly string[]) => boolean);
  readonly stdout?: string;
  readonly stderr?: string;
  readonly code?: number | null;
}

/** A call the runner received. */
export interface RecordedCall {
  readonly command: string;
  readonly args: readonly string[];
  readonly input: string | undefined;
}

/** A runner that answers from recordings, with its calls. */
export interface RecordedRunner {
  readonly run: CommandRunner;
  readonly calls: RecordedCall[];
  readonly unexpected: RecordedCall[];
  /** Fails the test when a command was run that no recording answers. */
  assertExpected(): void;
}

function argsMatch(recording: Recording, args: readonly string[]): boolean {
  if (recording.args === undefined) return true;
  if (typeof recording.args === 'function') return recording.args(args);
  return recording.args.length === args.length && recording.args.every((arg, index) => arg === args[index]);
}

/** Builds a runner from recordings; the first recording that matches a call answers it. */
export function recordedRunner(recordings: readonly Recording[]): RecordedRunner {
  const calls: RecordedCall[] = [];
  const unexpected: RecordedCall[] = [];
  const run: CommandRunner = async (command, args, options = {}) => {
    const call = { command, args: [...args], input: options.input };
    calls.push(call);
    const recording = recordings.find((candidate) => candidate.command === command && argsMatch(candidate, args));
    if (!recording) {
      unexpected.push(call);
      throw new Error(`unexpected command in a test: ${command} ${args.join(' ').slice(0, 200)}`);
    }
    return {
      code: recording.code === undefined ? 0 : recording.code,
      stdout: recording.stdout ?? '',
      stderr: recording.stderr ?? '',
    };
  };
  return {
    run,
    calls,
    unexpected,
    assertExpected() {
      assert.deepEqual(
        unexpected.map((call) => `${call.command} ${call.args.join(' ').slice(0, 120)}`),
        [],
        'a command was run that the test did not expect',
      );
    },
  };
}
