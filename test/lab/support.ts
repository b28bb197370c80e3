/**
 * Helpers for lab tests: skip visibly when the lab cannot run (but never in CI, which runs
 * as root and must run them), listeners and connection attempts with real peers (socat, nmap).
 */

import { after, before } from 'node:test';
import type { RunResult } from '../../lab/exec.js';
import { type Lab, labUnavailableReason, startLab } from '../../lab/lab.js';
import { PORTHOLE_SOURCE, startLabChecker, startPortholeUntil } from '../../lab/porthole.js';
import type { HostName, LabOptions } from '../../lab/topology.js';
import { sleep } from '../../src/deadline/index.js';

/**
 * The skip reason for lab suites: a string when the lab cannot run here, false otherwise.
 * Under CI the reason is returned as false so the suite runs and fails loudly instead.
 */
export function labSkip(): string | false {
  const reason = labUnavailableReason();
  if (!reason) return false;
  if (process.env.CI === 'true') return false;
  const message = `lab tests skipped: ${reason}`;
  process.stderr.write(`# ${message}\n`);
  return message;
}

/**
 * Call in a describe body: starts a lab before the suite's tests and tears it down after
 * them, even when they fail. Further `before` hooks registered later see the lab.
 */
export function useLab(options: LabOptions): { readonly lab: Lab } {
  let started: Lab | undefined;
  before(async () => {
    started = await startLab(options);
  });
  after(() => started?.stop());
  return {
    get lab(): Lab {
      if (!started) throw new Error('the lab did not start (see the before hook)');
      return started;
    },
  };
}

/** Starts a socat listener on `port` in `host` that answers every connection with `banner`. */
export function listen(lab: Lab, host: HostName, port: number, banner: string): Promise<void> {
  return listenWith(lab, host, port, `SYSTEM:echo ${banner}`);
}

/** Starts a socat listener on `port` in `host` connected to the socat address `answer`, and waits for it. */
async function listenWith(lab: Lab, host: HostName, port: number, answer: string): Promise<void> {
  lab.startBackground(host, `listener-${host}-${port}`, 'socat', [`TCP-LISTEN:${port},fork,reuseaddr`, answer]);
  // Ready when the port is in LISTEN state inside the namespace (bounded: 100 x 20 ms).
  for (let i = 0; i < 100; i++) {
    const sockets = await lab.exec(host, 'ss', ['-Hltn', `sport = :${port}`]);
    if (sockets.stdout.includes(`:${port}`)) return;
    await sleep(20);
  }
  throw new Error(`socat did not listen on ${host}:${port}`);
}

/** What a TCP connection attempt came to, as socat saw it. */
export interface ConnectOutcome {
  readonly outcome: 'connected' | 'refused' | 'timeout' | 'unreachable' | 'other';
  /** What the server sent, when connected. */
  readonly data: string;
  readonly detail: string;
}

/** Tries a TCP connection from `host` to address:port with socat and reads the answer. */
export async function connect(
  lab: Lab,
  host: HostName,
  address: string,
  port: number,
  timeoutSeconds = 2,
): Promise<ConnectOutcome> {
  const result = await lab.exec(
    host,
    'socat',
    [`-T${timeoutSeconds}`, '-', `TCP:${address}:${port},connect-timeout=${timeoutSeconds}`],
    { timeoutMs: (timeoutSeconds + 3) * 1000 },
  );
  const detail = result.stderr.trim();
  if (result.code === 0) return { outcome: 'connected', data: result.stdout.trim(), detail };
  if (/Connection refused/.test(detail)) return { outcome: 'refused', data: '', detail };
  if (/timed out/.test(detail)) return { outcome: 'timeout', data: '', detail };
  if (/unreachable/i.test(detail)) return { outcome: 'unreachable', data: '', detail };
  return { outcome: 'other', data: '', detail };
}

/** nmap -sT's verdicts for ports on a target, from inside a lab host. */
export async function nmapStates(
  lab: Lab,
  host: HostName,
  address: string,
  ports: string,
  options: { timing?: string; timeoutMs?: number } = {},
): Promise<Map<number, string>> {
  const result = await lab.exec(
    host,
    'nmap',
    [
      '-sT',
      '-Pn',
      '-n',
      ...(options.timing ? [options.timing] : []),
      '-p',
      ports,
      '--max-retries',
      '1',
      '-oG',
      '-',
      address,
    ],
    { timeoutMs: options.timeoutMs ?? 60_000 },
  );
  if (result.code !== 0) throw new Error(`nmap failed (${result.code}): ${result.stderr}`);
  const states = new Map<number, string>();
  for (const match of result.stdout.matchAll(/(\d+)\/(open|closed|filtered)\/tcp/g)) {
    states.set(Number(match[1]), match[2] ?? '');
  }
  return states;
}

/** Asks the router for a TCP mapping with the real natpmpc, from the LAN host. */
export function natpmpcMap(lab: Lab, port: number, lifetimeSeconds = 60): Promise<RunResult> {
  const args = ['-g', lab.addresses.routerLan, '-a', String(port), String(port), 'tcp', String(lifetimeSeconds)];
  return lab.exec('lan', 'natpmpc', args, { timeoutMs: 15_000 });
}

/**
 * Polls (every 500 ms, at most `seconds`) until a connection from the internet host to the
 * lab's public address on `port` succeeds (`want` true) or stops succeeding (`want` false).
 */
export async function waitForPublicPort(lab: Lab, port: number, want: boolean, seconds: number): Promise<boolean> {
  for (let i = 0; i < seconds * 2; i++) {
    if (((await connect(lab, 'internet', lab.addresses.publicIp, port, 1)).outcome === 'connected') === want)
      return true;
    await sleep(500);
  }
  return false;
}

/**
 * Waits (bounded) until a background porthole's log says what is asked: the router can make a
 * mapping a moment before porthole has read its answer and printed the line.
 */
export async function waitForLogLine(lab: Lab, name: string, pattern: RegExp, seconds: number): Promise<boolean> {
  for (let i = 0; i < seconds * 10; i++) {
    if (pattern.test(lab.log(name))) return true;
    await sleep(100);
  }
  return pattern.test(lab.log(name));
}

/** The source address the internet host sees for a connection from `host` (socat echoes it back). */
export async function addressSeenFrom(lab: Lab, host: HostName): Promise<string> {
  const port = 8081;
  await listenWith(lab, 'internet', port, 'SYSTEM:echo $SOCAT_PEERADDR');
  const attempt = await connect(lab, host, lab.addresses.internet, port);
  return attempt.data;
}

const CLI = PORTHOLE_SOURCE;

/** Runs the porthole command line itself inside a lab host, as a user there would (state kept in the lab). */
export function porthole(lab: Lab, host: HostName, args: readonly string[], timeoutMs = 30_000): Promise<RunResult> {
  return lab.exec(host, process.execPath, ['--import', 'tsx', CLI, ...args], {
    timeoutMs,
    // The lab's own state and configuration: a root user's ~/.config/porthole never leaks in.
    env: { XDG_STATE_HOME: `${lab.state.dir}/state-${host}`, XDG_CONFIG_HOME: `${lab.state.dir}/config-${host}` },
  });
}

/** The porthole commands a doctor's fix gives (backticked `porthole ...`), without `porthole`, in order: to paste in a test. */
export function fixCommands(fix: string | null | undefined): string[] {
  return [...(fix ?? '').matchAll(/`porthole ([^`]+)`/g)].map((m) => m[1] ?? '');
}

/**
 * Starts a long-running porthole (`--keep`, `name keep`) in the background on `host`, with the
 * lab's own state and configuration as `porthole()` gives them (never root's ~/.local/state).
 * `env` and `ip netns exec` both exec, so the pid returned is porthole's own (for SIGINT).
 */
export function startPorthole(lab: Lab, host: HostName, name: string, args: readonly string[]): number {
  return lab.startBackground(host, name, 'env', [
    `XDG_STATE_HOME=${lab.state.dir}/state-${host}`,
    `XDG_CONFIG_HOME=${lab.state.dir}/config-${host}`,
    process.execPath,
    '--import',
    'tsx',
    CLI,
    ...args,
  ]);
}

/** Starts `porthole serve ARGS` in the internet namespace and waits until it says it listens (bounded: 10 s). */
export async function startServe(lab: Lab, name: string, args: readonly string[]): Promise<void> {
  await startPortholeUntil(lab, 'internet', name, ['serve', ...args], 'listening on');
}

/** The lab's check service on the internet host, port 8080, allowed to probe the lab's public range. */
export async function serveChecker(lab: Lab, name = 'checker'): Promise<void> {
  await startLabChecker(lab, { name });
}
