/**
 * `checkReachable`: asks a check service outside your network to probe your public address, over
 * IPv4, IPv6 or both, and says what it found by the one verdict rule (src/probe/verdict.ts): a port
 * is reachable only when proven to reach this machine, by porthole's own listener answering with a
 * proof (`listen`), or by the checker's connection found among this host's sockets (a real server).
 * An open port without proof is `open-unproven`, never reachable.
 */
import {
  type CheckResponse,
  checkerEndpoints,
  checkerUrl,
  type FamilyChoice,
  requestCheck,
} from '../checkerClient/index.js';
import { isPortholeError, type PortholeError } from '../errors/index.js';
import { formatPortSpec, type PortRange, parsePortSpec, portEntries } from '../net/index.js';
import {
  explain,
  newProofKey,
  type ProbeResult,
  provePeers,
  REACH_OUTCOME,
  type Reach,
  reachOf,
  startProofListeners,
} from '../probe/index.js';
import { RunSession, type SessionOptions } from './session.js';

/** What to check. */
export interface CheckReachableOptions extends Omit<SessionOptions, 'purpose'> {
  /** Ports as porthole writes them (`7001`, `7001/udp`, `20570-20575/tcp`, a comma list), a number, or ranges. */
  readonly ports: string | number | readonly PortRange[];
  /**
   * The check service (`porthole serve` on a host outside your network). Default: $PORTHOLE_CHECKER,
   * then the configuration file; there is no built-in public checker.
   */
  readonly checker?: string | URL;
  /** The checker's IPv6 URL, when `checker` names it by an IPv4 address or a name without AAAA. */
  readonly checker6?: string | URL;
  /** Which families to check over (default: every family the checker offers). */
  readonly family?: FamilyChoice;
  /**
   * Answer on the ports from here for the duration of the check, with a proof the checker verifies:
   * the result then shows the port reaches this machine. The ports must be free.
   */
  readonly listen?: boolean;
}

/** One port's verdict over one family. */
export interface PortReach extends ProbeResult {
  readonly family: 4 | 6;
  /** The public address the checker probed. */
  readonly target: string;
  /** The one verdict: only `proven` is reachable. */
  readonly reach: Reach;
  /** Success (proven), Unproven or Error, and what it means in plain words. */
  readonly outcome: 'Success' | 'Unproven' | 'Error';
  readonly meaning: string;
  /** How identity was looked for (the checker's connection among this host's sockets). */
  readonly identity: string;
}

/** The checker's verdict. */
export interface Reachability {
  /** True only when every port was proven to reach this machine from outside. */
  readonly reachable: boolean;
  /** The verdict over all ports: `proven` only when each one is; else the first port's that is not. */
  readonly reach: Reach;
  /** The public address the checker probed (the first family's). */
  readonly target: string;
  /** The address per family checked. */
  readonly targets: readonly { readonly family: 4 | 6; readonly target: string }[];
  readonly checker: string;
  /** Whether porthole answered on the ports with a proof (`listen`). */
  readonly proof: boolean;
  readonly results: readonly PortReach[];
  /** A family that could not be checked (no IPv6 route here), with why; the other family stands. */
  readonly errors: readonly {
    readonly family: 4 | 6;
    readonly checker: string;
    readonly code: string;
    readonly message: string;
  }[];
}

/** The worst reach of several: proven only when all are. */
function overall(results: readonly PortReach[]): Reach {
  const failing = results.find((r) => REACH_OUTCOME[r.reach] === 'Error');
  if (failing) return failing.reach;
  return results.find((r) => r.reach !== 'proven')?.reach ?? (results.length > 0 ? 'proven' : 'no-answer');
}

/**
 * Asks the check service to probe this network's public address on `ports` from outside, and
 * resolves with the verdict (a closed port is a result, not an error). Rejects with E_NO_CHECKER,
 * E_CHECKER_URL, E_CHECKER_UNREACHABLE or E_CHECKER_REFUSED.
 */
export async function checkReachable(options: CheckReachableOptions): Promise<Reachability> {
  const session = new RunSession({ ...options, purpose: 'diagnose' });
  const checker = checkerUrl(options.checker === undefined ? undefined : String(options.checker), session.env);
  const checker6 = options.checker6 === undefined ? undefined : checkerUrl(String(options.checker6), {});
  const ranges =
    typeof options.ports === 'string' || typeof options.ports === 'number'
      ? parsePortSpec(String(options.ports))
      : [...options.ports];
  const spec = formatPortSpec(ranges);
  const endpoints = await checkerEndpoints(checker, {
    checker6,
    ...(options.family ? { family: options.family } : {}),
    ...session.abort,
  });
  const key = options.listen ? newProofKey() : undefined;
  // One check per family, at once: the same ports, the same listeners (bound dual-stack).
  const listeners = key ? await startProofListeners([...portEntries(ranges)], key) : undefined;
  let answers: ({ family: 4 | 6; origin: string } & ({ response: CheckResponse } | { error: PortholeError }))[];
  try {
    answers = await Promise.all(
      endpoints.map(async ({ family, url }) => {
        try {
          return {
            family,
            origin: url.origin,
            response: await requestCheck(url, spec, key, { ...session.abort, family }),
          };
        } catch (error) {
          // One family failing (no IPv6 route here) is a result for that family; the other stands.
          if (session.signal?.aborted || endpoints.length === 1 || !isPortholeError(error)) throw error;
          return { family, origin: url.origin, error };
        }
      }),
    );
  } finally {
    await listeners?.close();
  }
  const responses = answers.flatMap((a) => ('response' in a ? [{ family: a.family, response: a.response }] : []));
  const [first] = responses;
  if (!first) throw (answers[0] as { error: PortholeError }).error;
  // A real server's answer carries no proof: the checker's connection seen here is the proof.
  const results = (
    await Promise.all(
      responses.map(async ({ family, response }) => {
        const proven = await provePeers(response.results, (ports) => session.host.connections(ports, session.abort));
        return proven.results.map((result, index): PortReach => {
          const reach = reachOf(result);
          return {
            ...result,
            family,
            target: response.target,
            reach,
            outcome: REACH_OUTCOME[reach],
            meaning: explain(result.state, result.verified).meaning,
            identity: proven.identities[index]?.evidence ?? '',
          };
        });
      }),
    )
  ).flat();
  const reach = overall(results);
  return {
    reachable: reach === 'proven',
    reach,
    target: first.response.target,
    targets: responses.map(({ family, response }) => ({ family, target: response.target })),
    checker: checker.origin,
    proof: first.response.proof,
    results,
    errors: answers.flatMap((a) =>
      'error' in a ? [{ family: a.family, checker: a.origin, code: a.error.code, message: a.error.message }] : [],
    ),
  };
}
