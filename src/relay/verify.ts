/**
 * Proof that the relay's public port reaches this machine, not assumed from "the forward was
 * accepted". When the local server is not up yet, porthole's own proof listener takes the local
 * port and answers a nonce that arrives through the relay (as `check --listen` does); when the
 * server is up, the tunnel's own record of the visitor channel our connection produced is the proof.
 *
 * The connection goes from here to the public address, the way a visitor's does. When this
 * network does not let that port out (a venue), the relay itself dials its public port instead
 * (a `direct-tcpip` channel), and the evidence says so.
 */

import type { Duplex } from 'node:stream';
import { settleOnce, withDeadline } from '../deadline/index.js';
import { isPortholeError, PortholeError } from '../errors/index.js';
import type { ProbeState } from '../probe/index.js';
import {
  decodeTcpProof,
  encodeTcpProbe,
  MAX_TCP_LINE,
  newNonce,
  newProofKey,
  probeTcp,
  proofMatches,
  startProofListeners,
} from '../probe/index.js';
import type { RelayTunnel } from './client.js';

/** How long the whole proof may take: one connect through the relay and a line back. */
const VERIFY_DEADLINE_MS = 5000;
/**
 * The visitor-like connect gets this long: a path that takes longer is treated as blocked and the
 * relay dials its own port instead, which still proves the tunnel.
 */
const CONNECT_DEADLINE_MS = 2000;
/** The visitor channel follows the relay's accept at once; this bounds the wait for it. */
const CHANNEL_WAIT_MS = 1000;

/** Options of verifyRelay. */
export interface VerifyRelayOptions {
  /** The local port the tunnel forwards to. */
  readonly localPort: number;
  /** The tunnel: to match a connection to a running server with its channel, and to dial from the relay's side. */
  readonly tunnel?: Pick<RelayTunnel, 'events' | 'dialPublic'> | undefined;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal | undefined;
}

/** What the proof found. */
export interface RelayVerification {
  /** Whether the public port accepted a TCP connection (a probe's state). */
  readonly state: ProbeState;
  /** true proven ours, false reached something that is not us, null not provable. */
  readonly verified: boolean | null;
  /** `proof-listener` (nonce answered by porthole), `tunnel-channel` (the tunnel saw our visit), or `none`. */
  readonly method: 'proof-listener' | 'tunnel-channel' | 'none';
  /** `here` (from this network, as a visitor) or `relay` (the relay dialled its own port: this network blocks it). */
  readonly from: 'here' | 'relay';
  readonly evidence: string;
}

function splitAddress(publicAddress: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(publicAddress);
  if (!match) throw new RangeError(`"${publicAddress}" is not HOST:PORT`);
  return { host: match[1] ?? match[2] ?? '', port: Number(match[3]) };
}

/** Sends a probe line on a stream and checks the proof line that comes back. */
function proveOverStream(stream: Duplex, key: Uint8Array, timeoutMs: number, signal: AbortSignal): Promise<boolean> {
  const nonce = newNonce();
  let buffered = '';
  let timer: NodeJS.Timeout | undefined;
  return settleOnce<boolean>(
    signal,
    (done) => {
      timer = setTimeout(() => done(undefined, false), timeoutMs);
      stream.on('data', (chunk: Buffer) => {
        buffered += chunk.toString('latin1');
        const end = buffered.indexOf('\n');
        if (end < 0 && buffered.length <= MAX_TCP_LINE) return;
        const proof = decodeTcpProof(buffered.slice(0, end + 1));
        done(undefined, proof instanceof Buffer && proofMatches(key, 'tcp', nonce, proof));
      });
      stream.on('error', () => done(undefined, false));
      stream.on('close', () => done(undefined, false));
      stream.write(encodeTcpProbe(nonce));
    },
    () => {
      clearTimeout(timer);
      stream.destroy();
    },
  );
}

/** Counts the tunnel's visitor channels (and refusals by the local server) while `during` runs. */
async function watchVisitors<T>(
  tunnel: VerifyRelayOptions['tunnel'],
  during: () => Promise<T>,
): Promise<{ result: T; visitors: number; refused: number }> {
  let visitors = 0;
  let refused = 0;
  const onVisitor = () => visitors++;
  const onRefused = () => refused++;
  tunnel?.events.on('visitor', onVisitor);
  tunnel?.events.on('localRefused', onRefused);
  try {
    const result = await during();
    for (let waited = 0; waited < CHANNEL_WAIT_MS && visitors === 0; waited += 50) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return { result, visitors, refused };
  } finally {
    tunnel?.events.off('visitor', onVisitor);
    tunnel?.events.off('localRefused', onRefused);
  }
}

/**
 * Connects to `publicAddress` (HOST:PORT, as openRelay returns it) and proves it reaches this
 * machine's `localPort`. Never throws for a negative: an unreachable or foreign port is a result.
 */
export async function verifyRelay(publicAddress: string, options: VerifyRelayOptions): Promise<RelayVerification> {
  const { host, port } = splitAddress(publicAddress);
  const timeoutMs = options.timeoutMs ?? VERIFY_DEADLINE_MS;
  const signal = withDeadline(options.signal, timeoutMs * 2 + CHANNEL_WAIT_MS, `verifying ${publicAddress}`);
  const key = newProofKey();
  let listeners: Awaited<ReturnType<typeof startProofListeners>> | undefined;
  try {
    listeners = await startProofListeners([{ protocol: 'tcp', port: options.localPort }], key);
  } catch (error) {
    if (!isPortholeError(error) || error.code !== 'E_PORT_IN_USE') throw error;
  }
  const tunnel = options.tunnel;
  try {
    // A visitor's way first: from here to the public address.
    const here = await watchVisitors(tunnel, () =>
      probeTcp(host, port, {
        timeoutMs: Math.min(timeoutMs, CONNECT_DEADLINE_MS),
        signal,
        ...(listeners ? { proofKey: key, proofTimeoutMs: timeoutMs } : {}),
      }),
    );
    const blocked = here.result.state === 'filtered' || here.result.state === 'unreachable';
    if (!blocked || !tunnel) {
      const state = here.result.state;
      if (state !== 'open') {
        return {
          state,
          verified: null,
          method: 'none',
          from: 'here',
          evidence: `${publicAddress}: ${state} (${here.result.reason})`,
        };
      }
      if (listeners) {
        const verified = here.result.verified === true;
        return {
          state,
          verified,
          method: 'proof-listener',
          from: 'here',
          evidence: verified
            ? `a nonce sent to ${publicAddress} was answered by porthole's proof listener on local port ${options.localPort}`
            : `${publicAddress} accepted the connection but the proof did not come back (${here.result.reason})`,
        };
      }
      return channelVerdict(publicAddress, options.localPort, here, tunnel !== undefined, 'here');
    }
    // This network does not let the public port out: the relay dials it from its side. The
    // watch starts before the dial, as the relay opens the visitor channel before answering it.
    const viaRelay = await watchVisitors(tunnel, async () => {
      const stream = await tunnel.dialPublic(signal).catch(() => undefined);
      if (!stream) return undefined;
      if (listeners) return proveOverStream(stream, key, timeoutMs, signal);
      stream.destroy();
      return 'dialled' as const;
    });
    if (viaRelay.result === undefined) {
      return {
        state: here.result.state,
        verified: null,
        method: 'none',
        from: 'here',
        evidence: `${publicAddress}: ${here.result.state} from here, and the relay would not dial its own port`,
      };
    }
    if (typeof viaRelay.result === 'boolean') {
      const verified = viaRelay.result;
      return {
        state: 'open',
        verified,
        method: 'proof-listener',
        from: 'relay',
        evidence: `this network does not let ${port} out; dialled by the relay itself, a nonce was ${verified ? '' : 'not '}answered by porthole's proof listener on local port ${options.localPort}`,
      };
    }
    return channelVerdict(publicAddress, options.localPort, viaRelay, true, 'relay');
  } finally {
    await listeners?.close();
  }
}

function channelVerdict(
  publicAddress: string,
  localPort: number,
  seen: { visitors: number; refused: number },
  haveTunnel: boolean,
  from: 'here' | 'relay',
): RelayVerification {
  if (!haveTunnel) {
    return {
      state: 'open',
      verified: null,
      method: 'none',
      from,
      evidence: `${publicAddress} accepts connections; the local server answers on ${localPort}, so no nonce could be sent`,
    };
  }
  const verified = seen.visitors > 0 && seen.refused === 0;
  return {
    state: 'open',
    verified,
    method: 'tunnel-channel',
    from,
    evidence: verified
      ? `a connection to ${publicAddress}${from === 'relay' ? ' (dialled by the relay itself)' : ''} arrived through this tunnel and reached local port ${localPort}`
      : seen.visitors === 0
        ? `${publicAddress} accepted the connection but no channel came through this tunnel`
        : `the channel came through, but local port ${localPort} refused it`,
  };
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
