/** `checkReachable`: asks a check service outside your network to probe your public address. */
import { checkerUrl, requestCheck } from '../checker/client.js';
import type { AbortOptions } from '../deadline/index.js';
import { formatPortSpec, type PortRange, parsePortSpec, portEntries } from '../net/portSpec.js';
import { newProofKey, type ProbeResult, startProofListeners } from '../probe/index.js';

/** What to check. */
export interface CheckReachableOptions extends AbortOptions {
  /** Ports as porthole writes them (`7001`, `7001/udp`, `20570-20575/tcp`, a comma list), a number, or ranges. */
  readonly ports: string | number | readonly PortRange[];
  /**
   * The check service (`porthole serve` on a host outside your network). Default: $PORTHOLE_CHECKER,
   * then the configuration file; there is no built-in public checker.
   */
  readonly checker?: string | URL;
  /**
   * Answer on the ports from here for the duration of the check, with a proof the checker verifies:
   * the result then shows the port reaches this machine (`verified: true`). The ports must be free.
   */
  readonly listen?: boolean;
  /** Environment for the configuration lookup (default `process.env`). */
  readonly env?: NodeJS.ProcessEnv;
}

/** The checker's verdict. */
export interface Reachability {
  /** True when every port was found open from outside. */
  readonly reachable: boolean;
  /** The public address the checker probed (the one it saw the request come from). */
  readonly target: string;
  readonly checker: string;
  /** Whether the answers were checked against a proof (`listen: true`). */
  readonly proof: boolean;
  /** One result per port: `open`/`closed`/`filtered`/`unreachable`, and `verified` when a proof was asked. */
  readonly results: readonly ProbeResult[];
}

/**
 * Asks the check service to probe this network's public address on `ports` from outside, and
 * resolves with the verdict (a closed port is a result, not an error). Rejects with E_NO_CHECKER,
 * E_CHECKER_URL, E_CHECKER_UNREACHABLE or E_CHECKER_REFUSED.
 */
export async function checkReachable(options: CheckReachableOptions): Promise<Reachability> {
  const env = options.env ?? process.env;
  const checker = checkerUrl(options.checker === undefined ? undefined : String(options.checker), env);
  const ranges =
    typeof options.ports === 'string' || typeof options.ports === 'number'
      ? parsePortSpec(String(options.ports))
      : [...options.ports];
  const key = options.listen ? newProofKey() : undefined;
  const listeners = key ? await startProofListeners([...portEntries(ranges)], key) : undefined;
  try {
    const response = await requestCheck(checker, formatPortSpec(ranges), key, { signal: options.signal });
    return {
      reachable: response.results.length > 0 && response.results.every((result) => result.state === 'open'),
      target: response.target,
      checker: checker.origin,
      proof: response.proof,
      results: response.results,
    };
  } finally {
    await listeners?.close();
  }
}
