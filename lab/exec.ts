/** Thin process helpers for the lab: run a command to completion, or start a daemon. */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { type RunOptions, type RunResult, run } from '../src/system/index.js';

export { type RunOptions, type RunResult, run };

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

/**
 * A veth pair with each end created directly inside its namespace, so no name can collide with
 * another run's (the one way the lab, the fleet's vantages and the soak's hosts make links).
 */
export async function veth(nsA: string, nameA: string, nsB: string, nameB: string): Promise<void> {
  await runChecked('ip', [
    'link',
    'add',
    'name',
    nameA,
    'netns',
    nsA,
    'type',
    'veth',
    'peer',
    'name',
    nameB,
    'netns',
    nsB,
  ]);
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
