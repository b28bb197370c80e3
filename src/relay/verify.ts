/**
 * Proof that the relay's public port reaches this machine, not assumed from "the forward was
 * accepted". When the local server is not up yet, porthole's own proof listener takes the local
 * port and answers a nonce that arrives through the relay (as `check --listen` does); when the
 * server is up, the tunnel's own record of the visitor channel our connection produced is the proof.
 */
import { withDeadline } from '../deadline/index.js';
import { isPortholeError, PortholeError } from '../errors/index.js';
import { newProofKey, probeTcp, startProofListeners } from '../probe/index.js';
import type { RelayTunnel } from './client.js';

/** How long the whole proof may take: one connect through the relay and a line back. */
const VERIFY_DEADLINE_MS = 5000;

/** Options of verifyRelay. */
export interface VerifyRelayOptions {
  /** The local port the tunnel forwards to. */
  readonly localPort: number;
  /** The tunnel, so a connection to a running server can be matched to the channel it produced. */
  readonly tunnel?: Pick<RelayTunnel, 'events'> | undefined;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal | undefined;
}

/** What the proof found. */
export interface RelayVerification {
  /** The public port accepted a TCP connection. */
  readonly state: 'open' | 'closed' | 'filtered' | 'unreachable';
  /** true proven ours, false reached something that is not us, null not provable (state not open, or no tunnel to match). */
  readonly verified: boolean | null;
  /** `proof-listener` (nonce answered by porthole) or `tunnel-channel` (the tunnel saw our visit), or `none`. */
  readonly method: 'proof-listener' | 'tunnel-channel' | 'none';
  readonly evidence: string;
}

function splitAddress(publicAddress: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(publicAddress);
  if (!match) throw new RangeError(`"${publicAddress}" is not HOST:PORT`);
  return { host: match[1] ?? match[2] ?? '', port: Number(match[3]) };
}

/**
 * Connects to `publicAddress` (HOST:PORT, as openRelay returns it) and proves it reaches this
 * machine's `localPort`. Never throws for a negative: an unreachable or foreign port is a result.
 */
export async function verifyRelay(publicAddress: string, options: VerifyRelayOptions): Promise<RelayVerification> {
  const { host, port } = splitAddress(publicAddress);
  const timeoutMs = options.timeoutMs ?? VERIFY_DEADLINE_MS;
  const signal = withDeadline(options.signal, timeoutMs + 1000, `verifying ${publicAddress}`);
  const key = newProofKey();
  let listeners: Awaited<ReturnType<typeof startProofListeners>> | undefined;
  try {
    listeners = await startProofListeners([{ protocol: 'tcp', port: options.localPort }], key);
  } catch (error) {
    if (!isPortholeError(error) || error.code !== 'E_PORT_IN_USE') throw error;
  }
  if (listeners) {
    try {
      const result = await probeTcp(host, port, { timeoutMs, proofKey: key, proofTimeoutMs: timeoutMs, signal });
      return {
        state: result.state,
        verified: result.state === 'open' ? result.verified : null,
        method: 'proof-listener',
        evidence:
          result.state !== 'open'
            ? `${publicAddress}: ${result.state} (${result.reason})`
            : result.verified
              ? `a nonce sent to ${publicAddress} was answered by porthole's proof listener on local port ${options.localPort}`
              : `${publicAddress} accepted the connection but the proof did not come back (${result.reason})`,
      };
    } finally {
      await listeners.close();
    }
  }
  // The server is up on the local port: watch the tunnel for the visitor channel our connection makes.
  let visitors = 0;
  let refused = 0;
  const onVisitor = () => visitors++;
  const onRefused = () => refused++;
  options.tunnel?.events.on('visitor', onVisitor);
  options.tunnel?.events.on('localRefused', onRefused);
  try {
    const result = await probeTcp(host, port, { timeoutMs, signal });
    if (result.state !== 'open' || !options.tunnel) {
      return {
        state: result.state,
        verified: null,
        method: 'none',
        evidence: `${publicAddress}: ${result.state} (${result.reason}); the local server answers on ${options.localPort}, so no nonce could be sent`,
      };
    }
    // The channel is opened by the relay right after accepting; give it a moment to arrive (bounded).
    for (let i = 0; i < 20 && visitors === 0; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    const verified = visitors > 0 && refused === 0;
    return {
      state: 'open',
      verified,
      method: 'tunnel-channel',
      evidence: verified
        ? `a connection to ${publicAddress} arrived through this tunnel and reached local port ${options.localPort}`
        : visitors === 0
          ? `${publicAddress} accepted the connection but no channel came through this tunnel`
          : `the channel came through, but local port ${options.localPort} refused it`,
    };
  } finally {
    options.tunnel?.events.off('visitor', onVisitor);
    options.tunnel?.events.off('localRefused', onRefused);
  }
}

/**
 * The coded error for a verification that failed (E_RELAY_NOT_PUBLIC), or undefined when the
 * port was proven or could not be proven either way (verified null with the port open).
 */
export function notPublicError(publicAddress: string, verification: RelayVerification): PortholeError | undefined {
  if (verification.state === 'open' && verification.verified !== false) return undefined;
  return new PortholeError('E_RELAY_NOT_PUBLIC', {
    detail: `${publicAddress}: ${verification.evidence}`,
    data: { publicAddress, state: verification.state, verified: verification.verified },
  });
}
