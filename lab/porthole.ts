/**
 * porthole itself inside the lab: the command line that runs it (from source through tsx, or the
 * built CLI the benchmarks time), a long-running porthole started in a host until it says it is
 * ready, and the lab's check service on the internet host. Tests, the demo, the soak and the
 * benchmarks all start porthole this one way.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Lab } from './lab.js';
import type { HostName } from './topology.js';
import { PLAN } from './topology.js';

/** porthole's command line from source. */
export const PORTHOLE_SOURCE = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
/** porthole's built command line (`npm run build`), what a user installs and the benchmarks time. */
export const PORTHOLE_BUILT = fileURLToPath(new URL('../dist/src/cli/main.js', import.meta.url));

/** Node's arguments that run porthole with `args`: from source (default) or built. */
export function portholeArgv(args: readonly string[], from: 'source' | 'built' = 'source'): string[] {
  return from === 'built' ? [PORTHOLE_BUILT, ...args] : ['--import', 'tsx', PORTHOLE_SOURCE, ...args];
}

/**
 * Starts a long-running porthole (`serve`, `relay serve`) in `host` and waits until its log says
 * `ready` (bounded, as the lab's startBackgroundUntil is); resolves with its pid.
 */
export function startPortholeUntil(
  lab: Lab,
  host: HostName,
  name: string,
  args: readonly string[],
  ready: string,
  from: 'source' | 'built' = 'source',
): Promise<number> {
  return lab.startBackgroundUntil(host, name, process.execPath, portholeArgv(args, from), ready);
}

/** Options for the lab's check service. */
export interface LabCheckerOptions {
  readonly name?: string;
  readonly port?: number;
  readonly extra?: readonly string[];
  readonly from?: 'source' | 'built';
}

/**
 * The lab's check service: `porthole serve` on the internet host (port 8080 by default), allowed
 * to probe the lab's public range, its record in the lab's folder, logging nothing.
 */
export function startLabChecker(lab: Lab, options: LabCheckerOptions = {}): Promise<number> {
  const name = options.name ?? 'checker';
  return startPortholeUntil(
    lab,
    'internet',
    name,
    [
      'serve',
      '--listen',
      `${PLAN.internetHost}:${options.port ?? 8080}`,
      '--allow-targets',
      PLAN.internetSubnet,
      '--data',
      join(lab.state.dir, `${name}-data`),
      '--log-level',
      'silent',
      ...(options.extra ?? []),
    ],
    'listening on',
    options.from,
  );
}
