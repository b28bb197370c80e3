/**
 * One cooperative UDP probe: a datagram with a fresh nonce, which a porthole listener answers
 * (never with more bytes than it got). No answer is `filtered` (UDP cannot tell open from
 * filtered without a cooperating listener); an ICMP port unreachable is `closed`.
 */
import { createSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { type AbortOptions, settleOnce, withDeadline } from '../deadline/index.js';
import { PortholeError } from '../errors/index.js';
import { decodeUdpProof, encodeUdpProbe, newNonce, proofMatches } from './proofCodec.js';
import type { ProbeResult } from './types.js';

/** Options for probeUdp. */
export interface UdpProbeOptions extends AbortOptions {
  readonly timeoutMs: number;
  /** Check the answer's proof under this key. */
  readonly proofKey?: Uint8Array | undefined;
}

/** The probe is sent again at half the deadline, so one lost datagram does not make a port filtered. */
const RESEND_FRACTION = 0.5;

/** Probes host:port over UDP. Expected negatives are results; only local failures throw. */
export async function probeUdp(host: string, port: number, options: UdpProbeOptions): Promise<ProbeResult> {
  const started = performance.now();
  const socket = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
  const nonce = newNonce();
  const probe = encodeUdpProbe(nonce);
  const deadline = withDeadline(options.signal, options.timeoutMs, `UDP probe of ${host}:${port}`);
  const base = { port, protocol: 'udp' as const };
  const elapsed = () => Math.round((performance.now() - started) * 100) / 100;
  let resend: NodeJS.Timeout | undefined;
  try {
    return await settleOnce<ProbeResult>(
      deadline,
      (done) => {
        socket.on('message', (message) => {
          const answer = decodeUdpProof(message);
          if (answer && !answer.nonce.equals(nonce)) return; // A late answer to someone else's probe.
          const verified = options.proofKey
            ? answer
              ? proofMatches(options.proofKey, 'udp', nonce, answer.proof)
              : false
            : null;
          done(undefined, {
            ...base,
            state: 'open',
            reason: answer ? (verified === false ? 'udp-proof, not for our key' : 'udp-proof') : 'udp-response',
            ms: elapsed(),
            verified,
            ...(verified === true ? { verifiedBy: 'proof' as const } : {}),
          });
        });
        socket.on('error', (error: NodeJS.ErrnoException) => {
          if (error.code === 'ECONNREFUSED')
            done(undefined, { ...base, state: 'closed', reason: 'port-unreach', ms: elapsed(), verified: null });
          else if (error.code === 'EHOSTUNREACH' || error.code === 'ENETUNREACH') {
            done(undefined, {
              ...base,
              state: 'unreachable',
              reason: error.code === 'EHOSTUNREACH' ? 'host-unreach' : 'net-unreach',
              ms: elapsed(),
              verified: null,
            });
          } else done(new PortholeError('E_PROBE', { detail: `${host}:${port}/udp: ${error.message}`, cause: error }));
        });
        // Connected, so the kernel reports ICMP port unreachable to this socket.
        socket.connect(port, host, () => {
          socket.send(probe);
          resend = setTimeout(() => socket.send(probe, () => {}), options.timeoutMs * RESEND_FRACTION);
        });
      },
      () => {
        clearTimeout(resend);
        socket.removeAllListeners('message');
        socket.removeAllListeners('error');
        socket.on('error', () => {});
        socket.close();
      },
    );
  } catch (error) {
    if (deadline.aborted && !options.signal?.aborted)
      return {
        ...base,
        state: 'filtered',
        reason: 'no-response',
        ms: elapsed(),
        verified: options.proofKey ? false : null,
      };
    throw error;
  }
}
