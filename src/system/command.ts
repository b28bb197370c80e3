/** Running a system command (nft, iptables-save, PowerShell) to completion, with a deadline. */
import { spawn } from 'node:child_process';
import { withDeadline } from '../deadline/index.js';

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
  /** Extra environment variables for the command; undefined removes one. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** No system command porthole runs should take longer than this. */
const DEFAULT_TIMEOUT_MS = 20_000;

function mergeEnv(extra: RunOptions['env']): NodeJS.ProcessEnv {
  if (!extra) return process.env;
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const [name, value] of Object.entries(extra)) if (value === undefined) delete env[name];
  return env;
}

/** Runs a command and collects its output; never throws for a non-zero exit. */
export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const started = performance.now();
  const signal = withDeadline(options.signal, options.timeoutMs ?? DEFAULT_TIMEOUT_MS, command);
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      signal,
      env: mergeEnv(options.env),
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

/**
 * How porthole runs system commands, injected wherever their output is read: a test passes a
 * runner that answers with recorded outputs, so a Windows or macOS host's logic runs on Linux.
 */
export type CommandRunner = (
  command: string,
  args: readonly string[],
  options?: Pick<RunOptions, 'input' | 'signal' | 'timeoutMs'>,
) => Promise<{ readonly code: number | null; readonly stdout: string; readonly stderr: string }>;

/** Runs commands on this machine (10 s each unless told otherwise). */
export const localRunner: CommandRunner = (command, args, options = {}) =>
  run(command, args, { timeoutMs: 10_000, ...options });
