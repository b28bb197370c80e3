/** One TCP connect probe, classified like nmap -sT, optionally asking the answerer for a proof. */
import { Socket } from 'node:net';
import { type AbortOptions, settleOnce, withDeadline } from '../deadline/index.js';
import { PortholeError } from '../errors/index.js';
import { decodeTcpProof, encodeTcpProbe, MAX_TCP_LINE, newNonce, proofMatches } from './proofCodec.js';
import type { ProbeResult, ProbeState } from './types.js';

/** Options for probeTcp. */
export interface TcpProbeOptions extends AbortOptions {
  /** No answer within this long means filtered. */
  readonly timeoutMs: number;
  /** Ask the program that answers for a proof under this key. */
  readonly proofKey?: Uint8Array | undefined;
  /** How long the answerer gets to send its proof after the handshake. */
  readonly proofTimeoutMs?: number;
  /**
   * Takes an open connection that carried no proof instead of closing it: the checker keeps it
   * until its answer is sent, so the probed host can see the peer (`source`) among its sockets.
   */
  readonly hold?: ((socket: Socket) => void) | undefined;
}

/** The default time for a proof line: a listener answers at once, a real server never does. */
const DEFAULT_PROOF_TIMEOUT_MS = 1000;

/** connect() errors that are verdicts about the port, not failures of ours. */
const VERDICTS: Readonly<Record<string, { state: ProbeState; reason: string }>> = {
  ECONNREFUSED: { state: 'closed', reason: 'conn-refused' },
  ECONNRESET: { state: 'closed', reason: 'reset' },
  EHOSTUNREACH: { state: 'unreachable', reason: 'host-unreach' },
  ENETUNREACH: { state: 'unreachable', reason: 'net-unreach' },
  EHOSTDOWN: { state: 'unreachable', reason: 'host-down' },
  ETIMEDOUT: { state: 'filtered', reason: 'no-response' },
};

/** Reads one line (up to MAX_TCP_LINE bytes) from a connected socket, or undefined on timeout or close. */
function readLine(socket: Socket, timeoutMs: number, signal: AbortSignal | undefined): Promise<string | undefined> {
  let buffered = '';
  let timer: NodeJS.Timeout | undefined;
  let onData: (chunk: Buffer) => void = () => {};
  let onEnd: () => void = () => {};
  return settleOnce<string | undefined>(
    signal,
    (done) => {
      timer = setTimeout(() => done(undefined, undefined), timeoutMs);
      onData = (chunk) => {
        buffered += chunk.toString('latin1');
        const end = buffered.indexOf('\n');
        if (end >= 0) done(undefined, buffered.slice(0, end + 1));
        else if (buffered.length > MAX_TCP_LINE) done(undefined, buffered);
      };
      onEnd = () => done(undefined, buffered || undefined);
      socket.on('data', onData);
      socket.once('end', onEnd);
      socket.once('close', onEnd);
    },
    () => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
    },
  );
}

/** Probes host:port over TCP. Expected negatives are results; only local failures throw. */
export async function probeTcp(host: string, port: number, options: TcpProbeOptions): Promise<ProbeResult> {
  const started = performance.now();
  const deadline = withDeadline(options.signal, options.timeoutMs, `connect to ${host}:${port}`);
  const socket = new Socket();
  const base = { port, protocol: 'tcp' as const };
  const elapsed = () => Math.round((performance.now() - started) * 100) / 100;
  let connected: { state: ProbeState; reason: string };
  try {
    connected = await settleOnce<{ state: ProbeState; reason: string }>(
      deadline,
      (done) => {
        socket.once('connect', () => done(undefined, { state: 'open', reason: 'syn-ack' }));
        socket.once('error', (error: NodeJS.ErrnoException) => {
          const verdict = VERDICTS[error.code ?? ''];
          if (verdict) done(undefined, verdict);
          else done(new PortholeError('E_PROBE', { detail: `${host}:${port}: ${error.message}`, cause: error }));
        });
        socket.connect({ host, port });
      },
      () =>
        socket
          .removeAllListeners('connect')
          .removeAllListeners('error')
          .on('error', () => {}),
    );
  } catch (error) {
    socket.destroy();
    if (deadline.aborted && !options.signal?.aborted)
      return { ...base, state: 'filtered', reason: 'no-response', ms: elapsed(), verified: null };
    throw error;
  }
  if (connected.state !== 'open') {
    socket.destroy();
    return { ...base, ...connected, ms: elapsed(), verified: null };
  }
  const ms = elapsed();
  const source =
    socket.localAddress && socket.localPort ? { address: socket.localAddress, port: socket.localPort } : undefined;
  const release = (proven: boolean) => {
    if (proven || !options.hold) socket.destroy();
    else options.hold(socket);
  };
  if (!options.proofKey) {
    release(false);
    return { ...base, state: 'open', reason: 'syn-ack', ms, verified: null, ...(source ? { source } : {}) };
  }
  let verified = false;
  try {
    const nonce = newNonce();
    socket.write(encodeTcpProbe(nonce));
    const line = await readLine(socket, options.proofTimeoutMs ?? DEFAULT_PROOF_TIMEOUT_MS, options.signal);
    const proof = line === undefined ? undefined : decodeTcpProof(line);
    verified = proof instanceof Buffer && proofMatches(options.proofKey, 'tcp', nonce, proof);
    const reason = verified
      ? 'syn-ack, proof'
      : line === undefined
        ? 'syn-ack, no answer'
        : proof === undefined
          ? 'syn-ack, not porthole'
          : 'syn-ack, wrong proof';
    return {
      ...base,
      state: 'open',
      reason,
      ms,
      verified,
      ...(verified ? { verifiedBy: 'proof' as const } : {}),
      ...(source ? { source } : {}),
    };
  } finally {
    release(verified);
  }
}
