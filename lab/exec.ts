/** Thin process helpers for the lab: run a command to completion, or start a daemon. */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { withDeadline } from '../src/deadline/index.js';

/** The outcome of a command that ran to completion. */
export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Wall time, for tests that compare timings. */
  readonly ms: number;
}

/** Options for run(). */
export interface RunOptions {
  /** Text written to the command's stdin. */
  readonly input?: string;
  /** Kill the command after this long (default 20 s). */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

/** Commands that never should take longer than this in the lab. */
const DEFAULT_TIMEOUT_MS = 20_000;

/** Runs a command and collects its output; never throws for a non-zero exit. */
export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const started = performance.now();
  const signal = withDeadline(options.signal, options.timeoutMs ?? DEFAULT_TIMEOUT_MS, command);
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      signal,
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', (error) => {
      // A timeout kills the child: report it as a result with the output so far.
      if (signal.aborted)
        resolve({ code: null, stdout, stderr: `${stderr}${String(signal.reason)}`, ms: performance.now() - started });
      else reject(error);
    });
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: performance.now() - started }));
    if (child.stdin) {
      // A command that exits without reading its input must not crash us with EPIPE.
      child.stdin.on('error', () => {});
      child.stdin.end(options.input);
    }
  });
}

/** Runs a command and throws with its stderr when it fails. */
export async function runChecked(command: string, args: readonly string[], options: RunOptions = {}): Promise<string> {
  const result = await run(command, args, options);
  if (result.code !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} failed (${result.code}): ${result.stderr.trim() || result.stdout.trim()}`,
    );
  }
  return result.stdout;
}

/** Runs a command synchronously, ignoring failure; for teardown, which must also work in 'exit' handlers. */
export function runSyncQuiet(command: string, args: readonly string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 });
  } catch {
    return '';
  }
}

/**
 * Starts a long-running daemon detached from this process, with stdout and stderr in
 * `logFile`, so it outlives `npm run lab -- up` and never holds the test runner open.
 */
export function startDaemon(command: string, args: readonly string[], logFile: string): ChildProcess {
  const log = openSync(logFile, 'a');
  try {
    const child = spawn(command, args, { detached: true, stdio: ['ignore', log, log] });
    child.unref();
    return child;
  } finally {
    closeSync(log);
  }
}
