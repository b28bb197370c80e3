/**
 * A UDP probe for a port where a real server (not porthole's listener) may answer: the request
 * its protocol answers when one is known for the port (udpPayloads.ts), porthole's cooperative
 * probe otherwise (a porthole listener or an echo server answers it). Any answer from the port
 * is `open`, ICMP port unreachable is `closed`, and silence is `open|filtered`, as nmap -sU says:
 * a UDP server that ignores what it does not understand and a firewall that drops look the same.
 */
import { createSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { type AbortOptions, settleOnce, withDeadline } from '../deadline/index.js';
import { PortholeError } from '../errors/index.js';
import { encodeUdpProbe, newNonce } from './proofCodec.js';
import type { ProbeResult } from './types.js';
import { payloadForPort } from './udpPayloads.js';

/** Options for probeUdpService. */
export interface UdpServiceProbeOptions extends AbortOptions {
  /** How long to wait for an answer (default 1000 ms, nmap's initial RTT timeout). */
  readonly timeoutMs?: number;
  /**
   * The slowest round trip seen so far to this host by other probes of the same scan (ms), or
   * undefined. Once known, silence is decided after ADAPTIVE_FACTOR times it (at least
   * MIN_SILENCE_MS), as nmap shrinks its timeout to the measured RTT, instead of the full timeout.
   */
  readonly rttHint?: () => number | undefined;
}

const DEFAULT_TIMEOUT_MS = 1000;
/** Sent again at half the deadline, so one lost datagram does not decide. */
const RESEND_FRACTION = 0.5;
/** Silence is decided after this many measured round trips... */
const ADAPTIVE_FACTOR = 20;
/** ...but never sooner than this (nmap's min RTT timeout is 100 ms; a resend fits in between). */
const MIN_SILENCE_MS = 300;
/** How often the adaptive deadline is looked at. */
const TICK_MS = 50;

/** Probes a UDP service on host:port. Expected negatives are results; only local failures throw. */
export async function probeUdpService(
  host: string,
  port: number,
  options: UdpServiceProbeOptions = {},
): Promise<ProbeResult> {
  const started = performance.now();
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const payload = payloadForPort(port);
  const request = payload ? payload.build() : encodeUdpProbe(newNonce());
  const socket = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
  const deadline = withDeadline(options.signal, timeoutMs, `UDP probe of ${host}:${port}`);
  const base = { port, protocol: 'udp' as const, verified: null };
  const elapsed = () => Math.round((performance.now() - started) * 100) / 100;
  let resend: NodeJS.Timeout | undefined;
  let tick: NodeJS.Timeout | undefined;
  let resent = false;
  try {
    return await settleOnce<ProbeResult>(
      deadline,
      (done) => {
        socket.on('message', (message) => {
          // Connected: only host:port reaches this socket. Its protocol's answer names the service.
          const reason =
            payload?.matches(request, message) === true ? `udp-response:${payload.service}` : 'udp-response';
          done(undefined, { ...base, state: 'open', reason, ms: elapsed() });
        });
        socket.on('error', (error: NodeJS.ErrnoException) => {
          if (error.code === 'ECONNREFUSED')
            done(undefined, { ...base, state: 'closed', reason: 'port-unreach', ms: elapsed() });
          else if (error.code === 'EHOSTUNREACH' || error.code === 'ENETUNREACH')
            done(undefined, {
              ...base,
              state: 'unreachable',
              reason: error.code === 'EHOSTUNREACH' ? 'host-unreach' : 'net-unreach',
              ms: elapsed(),
            });
          else done(new PortholeError('E_PROBE', { detail: `${host}:${port}/udp: ${error.message}`, cause: error }));
        });
        const sendAgain = () => {
          if (resent) return;
          resent = true;
          socket.send(request, () => {});
        };
        socket.connect(port, host, () => {
          socket.send(request);
          resend = setTimeout(sendAgain, timeoutMs * RESEND_FRACTION);
          if (!options.rttHint) return;
          tick = setInterval(() => {
            const rtt = options.rttHint?.();
            if (rtt === undefined) return;
            const silence = Math.min(timeoutMs, Math.max(MIN_SILENCE_MS, rtt * ADAPTIVE_FACTOR));
            const waited = performance.now() - started;
            if (waited >= silence * RESEND_FRACTION) sendAgain();
            if (waited >= silence && resent)
              done(undefined, { ...base, state: 'open|filtered', reason: 'no-response', ms: elapsed() });
          }, TICK_MS);
        });
      },
      () => {
        clearTimeout(resend);
        clearInterval(tick);
        socket.removeAllListeners('message');
        socket.removeAllListeners('error');
        socket.on('error', () => {});
        socket.close();
      },
    );
  } catch (error) {
    if (deadline.aborted && !options.signal?.aborted)
      return { ...base, state: 'open|filtered', reason: 'no-response', ms: elapsed() };
    throw error;
  }
}
