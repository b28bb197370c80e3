/**
 * Every command has an overall deadline: a router that black-holes every packet, or a checker
 * that accepts and never answers, must not keep porthole waiting longer than its steps allow.
 * The default for each command is the sum of its steps' own deadlines (with room); `--deadline S`
 * sets another. Commands that run until interrupted (`--keep`, `serve`, `relay serve/open`,
 * `name keep`) have none unless one is given.
 */
import { PortholeError } from '../errors/index.js';

/** Default overall deadlines, seconds, by command path (`name set`), from their steps' deadlines. */
const DEFAULT_SECONDS: Readonly<Record<string, number>> = {
  // One request to the checker (30 s) after its connection check (3 s).
  check: 40,
  // A full 1-65535 sweep takes ~15 s in the lab; nmap's own -T4 sweep takes minutes.
  probe: 600,
  egress: 600,
  // Discovery is at most 1 s; a UPnP description and SOAP call a few seconds more.
  gateway: 15,
  map: 30,
  unmap: 30,
  mappings: 30,
  // STUN tests (~3 s), tracepath (8 s), the checker (33 s), at once.
  nat: 45,
  // Three phases: discovery + NAT (45 s), outside-in (40 s), hairpin (1 s).
  doctor: 90,
  // Mapping, the doctor, and an IPv6 or relay road after it.
  expose: 180,
  'name set': 60,
  'name show': 30,
  discover: 70,
  cleanup: 60,
};

/** Commands that run until interrupted: no deadline unless asked. */
function runsUntilInterrupted(path: string, options: Readonly<Record<string, unknown>>): boolean {
  return options.keep === true || ['serve', 'relay serve', 'relay open', 'name keep'].includes(path);
}

/** The overall deadline for a command, seconds, or undefined for none. */
export function commandDeadlineSeconds(path: string, options: Readonly<Record<string, unknown>>): number | undefined {
  if (options.deadline !== undefined) {
    const seconds = Number(options.deadline);
    if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 86_400) {
      throw new PortholeError('E_USAGE', {
        detail: `--deadline must be 1 to 86400 seconds, not "${String(options.deadline)}"`,
      });
    }
    return seconds;
  }
  if (runsUntilInterrupted(path, options)) return undefined;
  return DEFAULT_SECONDS[path];
}

/** How long a command gets past its deadline to clean up before the frame gives up on it. */
export const DEADLINE_GRACE_MS = 800;

/**
 * Runs `work` under the deadline: at the deadline its signal aborts with E_TIMEOUT; if it has not
 * ended DEADLINE_GRACE_MS later (a socket that ignores the signal), the frame stops waiting and
 * reports E_TIMEOUT itself, and `onAbandon` lets the process exit.
 */
export async function underDeadline<T>(
  path: string,
  seconds: number | undefined,
  parent: AbortSignal,
  work: (signal: AbortSignal) => Promise<T>,
  onAbandon: () => void,
): Promise<T> {
  if (seconds === undefined) return work(parent);
  const reason = new PortholeError('E_TIMEOUT', {
    detail: `porthole ${path} did not finish within its deadline of ${seconds} s`,
    hint: 'Something on the path does not answer (a router dropping every packet, a server that accepts and never replies); `porthole doctor` tells which hop. --deadline S gives the command more time.',
  });
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(reason), seconds * 1000);
  let grace: NodeJS.Timeout | undefined;
  const abandoned = new Promise<never>((_, reject) => {
    deadline.signal.addEventListener(
      'abort',
      () => {
        grace = setTimeout(() => {
          onAbandon();
          reject(reason);
        }, DEADLINE_GRACE_MS);
      },
      { once: true },
    );
  });
  abandoned.catch(() => {});
  try {
    return await Promise.race([work(AbortSignal.any([parent, deadline.signal])), abandoned]);
  } catch (error) {
    // A command that ended on its deadline reports the deadline, not the socket error it saw.
    if (deadline.signal.aborted && !parent.aborted) throw reason;
    throw error;
  } finally {
    clearTimeout(timer);
    clearTimeout(grace);
  }
}
