/** The `porthole` command run in this process, with its output captured: the unit tests' one runner. */
import { PassThrough } from 'node:stream';
import { runCli } from '../../src/cli/program.js';

/** What a run printed, and its exit status. */
export interface CapturedRun {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options for a captured run. */
export interface CaptureOptions {
  /** The environment the command sees (default `{}`: no user settings leak in). */
  readonly env?: NodeJS.ProcessEnv;
  /** Whether stdout claims to be a terminal (colour). */
  readonly tty?: boolean;
  readonly signal?: AbortSignal;
}

/** Runs `porthole ARGV` in this process and collects stdout and stderr. */
export async function runCliCaptured(argv: readonly string[], options: CaptureOptions = {}): Promise<CapturedRun> {
  const stdout = Object.assign(new PassThrough(), { isTTY: options.tty ?? false });
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk) => {
    out += chunk;
  });
  stderr.on('data', (chunk) => {
    err += chunk;
  });
  const status = await runCli(argv, {
    stdout,
    stderr,
    env: options.env ?? {},
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return { status, stdout: out, stderr: err };
}

/** Runs `porthole ARGV` and parses its one JSON document (`{}` when it printed nothing). */
export async function runCliJson(
  argv: readonly string[],
  options: CaptureOptions = {},
): Promise<CapturedRun & { readonly json: Record<string, unknown> }> {
  const run = await runCliCaptured(argv, options);
  return { ...run, json: run.stdout ? (JSON.parse(run.stdout) as Record<string, unknown>) : {} };
}
