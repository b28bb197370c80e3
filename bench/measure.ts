/** Small measuring tools for the benchmarks: medians of repeated runs, peak memory of a process. */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * The command as it is installed (package.json `bin`: the bundle, dependencies a mapping needs
 * inlined): whole-process figures are what a user who runs `porthole` waits for.
 */
export const PORTHOLE_BIN = new URL('../dist/cli/main.js', import.meta.url).pathname;

/** The median of numbers. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

/** Runs a command `runs` times (bounded) and returns the median wall time in ms. */
export function medianCommandMs(command: string, args: readonly string[], runs: number): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    spawnSync(command, args, { stdio: 'ignore', timeout: 60_000 });
    times.push(performance.now() - started);
  }
  return median(times);
}

/** Runs an async operation `runs` times (bounded) and returns the median in ms. */
export async function medianAsyncMs(operation: () => Promise<unknown>, runs: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await operation();
    times.push(performance.now() - started);
  }
  return median(times);
}

/** A process's peak resident memory (VmHWM) in MiB, from /proc. */
export function peakRssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
  return Math.round((kib / 1024) * 10) / 10;
}

/** `a / b` to two decimals, as "1.23x". */
export function ratio(a: number, b: number): string {
  return `${(a / b).toFixed(2)}x`;
}

/** A millisecond figure for a table. */
export function ms(value: number): string {
  return value < 10 ? `${value.toFixed(2)} ms` : `${value.toFixed(0)} ms`;
}
