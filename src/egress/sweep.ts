/**
 * The egress sweep: many outbound connection attempts at once, with timing learnt from the
 * network itself. Until the first answer every attempt gets the initial deadline; each answer
 * (a handshake or a refusal) is an RTT sample, and the deadline becomes srtt + 4·rttvar,
 * clamped, like TCP's retransmission timer (RFC 6298) and nmap's. Attempts already in flight
 * are judged by the current deadline, so one fast answer shortens the wait for all of them.
 * Silent ports are tried once more with twice the deadline: one lost SYN must not decide.
 *
 * One timer sweeps the attempts in flight (not one timer per attempt), so 65535 ports cost
 * little more than their sockets.
 */
import type { KeyObject } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { isIPv6, Socket } from 'node:net';
import { throwIfAborted } from '../deadline/index.js';
import type { PortEntry } from '../net/index.js';
import { listInterfaces } from '../net/index.js';
import {
  checkEgressAnswer,
  encodeEgressHello,
  encodeEgressUdpHello,
  MAX_EGRESS_LINE,
  newEgressNonce,
} from './bannerCodec.js';
import { canaryTargets, judgeByCanaries } from './canary.js';
import { collectGarbage } from './heap.js';
import type { EgressResult, EgressState, SweepTarget } from './types.js';

export type { EgressResult, EgressState, SweepTarget } from './types.js';

/** Settings of a sweep. */
export interface SweepOptions {
  readonly signal?: AbortSignal;
  /** Attempts in flight at once. */
  readonly concurrency?: number;
  /** The deadline before any answer has been seen. */
  readonly initialTimeoutMs?: number;
  readonly minTimeoutMs?: number;
  readonly maxTimeoutMs?: number;
  /** The service's key: answers must carry its signature (else only the nonce is checked). */
  readonly publicKey?: KeyObject;
  /**
   * Dial canaries beside handshake-only targets (default true). Off where a handshake is only a
   * hint to act on at once (the relay client's transport order): no packet to another address.
   */
  readonly canaries?: boolean;
  /** Called as verdicts come in (first pass and retry pass both count toward `total`). */
  readonly onProgress?: (done: number, total: number) => void;
}

/** Defaults, close to nmap -T4's timing (initial 500 ms, min 100 ms, max 1250 ms). */
export const SWEEP_DEFAULTS = {
  concurrency: 2048,
  initialTimeoutMs: 1000,
  minTimeoutMs: 100,
  maxTimeoutMs: 1500,
} as const;
/** Verdicts between two garbage collections (see heap.ts). */
const GC_EVERY = 1024;
/** How often the in-flight attempts are checked against the current deadline. */
const REAP_INTERVAL_MS = 10;

/** The learnt timing (RFC 6298 estimator). */
export class SweepTiming {
  private srtt: number | undefined;
  private rttvar = 0;
  samples = 0;
  constructor(
    private readonly initialMs: number,
    private readonly minMs: number,
    private readonly maxMs: number,
  ) {}

  sample(rttMs: number): void {
    this.samples++;
    if (this.srtt === undefined) {
      this.srtt = rttMs;
      this.rttvar = rttMs / 2;
    } else {
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - rttMs);
      this.srtt = 0.875 * this.srtt + 0.125 * rttMs;
    }
  }

  /** The connect deadline now. */
  timeoutMs(): number {
    if (this.srtt === undefined) return this.initialMs;
    return Math.min(this.maxMs, Math.max(this.minMs, this.srtt + 4 * this.rttvar));
  }

  /** How long an accepted connection gets to answer the hello. */
  answerTimeoutMs(): number {
    return Math.max(500, 4 * this.timeoutMs());
  }

  /** The learnt round trip, for the report. */
  get smoothedRttMs(): number | undefined {
    return this.srtt;
  }
}

interface Attempt {
  started: number;
  phase: 'connect' | 'answer';
  /** The deadline multiplier (2 on the retry pass). */
  factor: number;
  expire(): void;
}

interface Outcome {
  state: EgressState;
  reason: string;
  ms: number;
}

const TCP_REFUSALS: Record<string, Outcome['reason']> = {
  ECONNREFUSED: 'refused',
  ECONNRESET: 'refused',
  EHOSTUNREACH: 'unreachable',
  ENETUNREACH: 'unreachable',
  EHOSTDOWN: 'unreachable',
  ETIMEDOUT: 'timeout',
};

class Sweeper {
  private readonly inFlight = new Set<Attempt>();
  private readonly reaper: NodeJS.Timeout;

  constructor(
    readonly timing: SweepTiming,
    private readonly publicKey: KeyObject | undefined,
  ) {
    // setImmediate: the check runs after this loop turn's I/O, so an answer that has arrived
    // is seen before its attempt is judged silent.
    this.reaper = setInterval(() => setImmediate(() => this.reap()), REAP_INTERVAL_MS);
  }

  stop(): void {
    clearInterval(this.reaper);
    for (const attempt of this.inFlight) attempt.expire();
  }

  private reap(): void {
    const now = performance.now();
    const connectMs = this.timing.timeoutMs();
    const answerMs = this.timing.answerTimeoutMs();
    for (const attempt of this.inFlight) {
      const limit = (attempt.phase === 'connect' ? connectMs : answerMs) * attempt.factor;
      if (now - attempt.started > limit) attempt.expire();
    }
  }

  tcp(host: string, port: number, handshake: SweepTarget['handshake'], factor: number, learn = true): Promise<Outcome> {
    const sample = (rttMs: number) => learn && this.timing.sample(rttMs);
    return new Promise((resolve) => {
      const socket = new Socket();
      const started = performance.now();
      const nonce = newEgressNonce();
      let buffered = '';
      const attempt: Attempt = { started, phase: 'connect', factor, expire: () => {} };
      const finish = (outcome: Omit<Outcome, 'ms'>) => {
        this.inFlight.delete(attempt);
        socket.removeAllListeners();
        socket.on('error', () => {});
        socket.destroy();
        resolve({ ...outcome, ms: Math.round((performance.now() - started) * 100) / 100 });
      };
      attempt.expire = () =>
        finish(
          attempt.phase === 'connect'
            ? { state: 'blocked', reason: 'timeout' }
            : { state: 'intercepted', reason: 'no-answer' },
        );
      socket.once('error', (error: NodeJS.ErrnoException) => {
        if (attempt.phase === 'answer') {
          finish({ state: 'intercepted', reason: 'closed' });
          return;
        }
        if (error.code === 'EMFILE' || error.code === 'ENFILE') {
          finish({ state: 'untested', reason: 'emfile' });
          return;
        }
        const reason = TCP_REFUSALS[error.code ?? ''] ?? 'unreachable';
        if (reason !== 'timeout') sample(performance.now() - attempt.started);
        finish({ state: 'blocked', reason });
      });
      socket.once('connect', () => {
        sample(performance.now() - attempt.started);
        if (handshake === 'connect') {
          finish({ state: 'allowed', reason: 'handshake' });
          return;
        }
        attempt.phase = 'answer';
        attempt.started = performance.now();
        socket.on('data', (chunk: Buffer) => {
          buffered += chunk.toString('latin1');
          const end = buffered.indexOf('\n');
          if (end < 0 && buffered.length <= MAX_EGRESS_LINE) return;
          const verdict = checkEgressAnswer(
            end < 0 ? buffered : buffered.slice(0, end + 1),
            port,
            nonce,
            this.publicKey,
          );
          finish(
            verdict === 'foreign'
              ? { state: 'intercepted', reason: 'foreign-answer' }
              : { state: 'allowed', reason: verdict },
          );
        });
        socket.once('end', () =>
          finish(
            buffered === ''
              ? { state: 'intercepted', reason: 'closed' }
              : { state: 'intercepted', reason: 'foreign-answer' },
          ),
        );
        socket.write(encodeEgressHello(port, nonce));
      });
      // The clock starts when the SYN leaves, not when the attempt was queued behind others.
      socket.once('connectionAttempt', () => {
        attempt.started = performance.now();
      });
      this.inFlight.add(attempt);
      socket.connect({ host, port });
    });
  }

  udp(host: string, port: number, factor: number): Promise<Outcome> {
    return new Promise((resolve) => {
      const socket: UdpSocket = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
      const started = performance.now();
      const nonce = newEgressNonce();
      const hello = encodeEgressUdpHello(port, nonce);
      const attempt: Attempt = { started, phase: 'connect', factor, expire: () => {} };
      let sent = 0;
      const finish = (outcome: Omit<Outcome, 'ms'>) => {
        this.inFlight.delete(attempt);
        clearTimeout(resend);
        socket.removeAllListeners();
        socket.on('error', () => {});
        socket.close();
        resolve({ ...outcome, ms: Math.round((performance.now() - started) * 100) / 100 });
      };
      attempt.expire = () => finish({ state: 'blocked', reason: 'timeout' });
      socket.on('message', (message) => {
        const verdict = checkEgressAnswer(message.toString('latin1'), port, nonce, this.publicKey);
        this.timing.sample(performance.now() - started);
        finish(
          verdict === 'foreign'
            ? { state: 'intercepted', reason: 'foreign-answer' }
            : { state: 'allowed', reason: verdict },
        );
      });
      socket.on('error', (error: NodeJS.ErrnoException) =>
        finish(
          error.code === 'EMFILE' || error.code === 'ENFILE'
            ? { state: 'untested', reason: 'emfile' }
            : { state: 'blocked', reason: error.code === 'ECONNREFUSED' ? 'refused' : 'unreachable' },
        ),
      );
      const send = () => {
        sent++;
        socket.send(hello, () => {});
      };
      // A datagram can be lost: a second copy goes at half the deadline.
      const resend = setTimeout(() => sent < 2 && send(), Math.max(50, this.timing.timeoutMs() * factor * 2) / 2);
      socket.connect(port, host, send);
      this.inFlight.add(attempt);
    });
  }
}

/** One sweep's outcome. */
export interface SweepReport {
  readonly results: EgressResult[];
  /** The smoothed round trip the sweep learnt, ms (undefined when nothing answered). */
  readonly rttMs: number | undefined;
  /** The connect deadline it ended with. */
  readonly timeoutMs: number;
  readonly retried: number;
  /**
   * The canaries dialled beside handshake-only targets (canary.ts): an address that cannot
   * answer, on the same port; `allowed` here means the network answers for anyone.
   */
  readonly canaries: EgressResult[];
}

interface Job {
  target: SweepTarget;
  entry: PortEntry;
  attempts: number;
  outcome?: Outcome;
}

/** Attempts in flight until the first round trip is known: the first samples then measure the network, not our own queue. */
const PILOT_CONCURRENCY = 32;
/** Ports tried first: most networks let them out, so the first round trip is learnt at once. */
const PILOT_PORTS = new Set([443, 80, 53]);
/** Out of descriptors: this run's cap shrinks to this share of what was in flight. */
const EMFILE_BACKOFF = 0.75;

/**
 * Runs jobs with a cap on those in flight: PILOT_CONCURRENCY until the timing has a sample
 * (or the initial deadline passed), then `concurrency`. A job that hit the descriptor limit
 * (EMFILE) goes back in the queue and the cap shrinks, so a low `ulimit -n` slows a sweep
 * down instead of failing it.
 */
function runJobs(
  jobs: readonly Job[],
  concurrency: number,
  timing: SweepTiming,
  initialTimeoutMs: number,
  work: (job: Job) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  const queue = [
    ...jobs.filter((job) => PILOT_PORTS.has(job.entry.port)),
    ...jobs.filter((job) => !PILOT_PORTS.has(job.entry.port)),
  ];
  const started = performance.now();
  let cap = concurrency;
  let next = 0;
  let active = 0;
  return new Promise((resolve, reject) => {
    const limit = () =>
      timing.samples > 0 || performance.now() - started > initialTimeoutMs ? cap : Math.min(cap, PILOT_CONCURRENCY);
    const pump = () => {
      if (signal?.aborted) {
        if (active === 0) resolve();
        return;
      }
      while (active < limit() && next < queue.length) {
        const job = queue[next++] as Job;
        active++;
        work(job).then(
          () => {
            active--;
            if (job.outcome?.reason === 'emfile') {
              cap = Math.max(8, Math.floor(active * EMFILE_BACKOFF));
              job.attempts--;
              queue.push(job);
            }
            pump();
          },
          (error) => reject(error),
        );
      }
      if (active === 0 && next >= queue.length) resolve();
    };
    pump();
  });
}

/** Sweeps every target's ports; results come back in the order of the targets and their entries. */
export async function sweepEgress(targets: readonly SweepTarget[], options: SweepOptions = {}): Promise<SweepReport> {
  throwIfAborted(options.signal);
  const initialTimeoutMs = options.initialTimeoutMs ?? SWEEP_DEFAULTS.initialTimeoutMs;
  const timing = new SweepTiming(
    initialTimeoutMs,
    options.minTimeoutMs ?? SWEEP_DEFAULTS.minTimeoutMs,
    options.maxTimeoutMs ?? SWEEP_DEFAULTS.maxTimeoutMs,
  );
  const sweeper = new Sweeper(timing, options.publicKey);
  const concurrency = options.concurrency ?? SWEEP_DEFAULTS.concurrency;
  // Canaries go in the same run: they cost one attempt per port, in parallel with the targets.
  const local = listInterfaces().flatMap((item) => item.addresses.map((address) => address.address));
  const canaries = options.canaries === false ? [] : canaryTargets(targets, local);
  const toJobs = (list: readonly SweepTarget[]): Job[] =>
    list.flatMap((target) => target.entries.map((entry) => ({ target, entry, attempts: 0 })));
  const targetJobs = toJobs(targets);
  const jobs: Job[] = [...targetJobs, ...toJobs(canaries)];
  let done = 0;
  let total = jobs.length;
  const attempt = (factor: number) => async (job: Job) => {
    job.attempts++;
    const { host, handshake, canary } = job.target;
    job.outcome =
      job.entry.protocol === 'tcp'
        ? await sweeper.tcp(host, job.entry.port, handshake, factor, !canary)
        : handshake === 'connect'
          ? { state: 'untested', reason: 'udp-needs-listener', ms: 0 }
          : await sweeper.udp(host, job.entry.port, factor);
    if (job.outcome.reason === 'emfile') return;
    done++;
    options.onProgress?.(done, total);
    if (done % GC_EVERY === 0) collectGarbage();
  };
  try {
    await runJobs(jobs, concurrency, timing, initialTimeoutMs, attempt(1), options.signal);
    const silent = jobs.filter((job) => job.outcome?.reason === 'timeout');
    total += silent.length;
    options.onProgress?.(done, total);
    await runJobs(silent, concurrency, timing, initialTimeoutMs, attempt(2), options.signal);
    throwIfAborted(options.signal);
    const resultOf = ({ target, entry, attempts, outcome }: Job): EgressResult => ({
      host: target.host,
      ...(target.name ? { name: target.name } : {}),
      ...(target.entry ? { entry: target.entry } : {}),
      port: entry.port,
      protocol: entry.protocol,
      state: outcome?.state ?? 'untested',
      reason: outcome?.reason ?? 'not-run',
      ms: outcome?.ms ?? 0,
      attempts,
    });
    const canaryResults = jobs.slice(targetJobs.length).map(resultOf);
    const results = judgeByCanaries(targetJobs.map(resultOf), canaryResults);
    // The sockets' garbage goes before the caller builds its report on top of it.
    collectGarbage();
    return {
      results,
      rttMs: timing.smoothedRttMs,
      timeoutMs: timing.timeoutMs(),
      retried: silent.length,
      canaries: canaryResults,
    };
  } finally {
    sweeper.stop();
  }
}
