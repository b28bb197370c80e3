/**
 * STUN transactions over one UDP socket (the local port must stay the same across RFC 5780's
 * tests). Answers are matched by transaction id; anything else — other ids, undecodable or
 * forged datagrams — is a warning, never a crash. Retransmission follows RFC 8489's doubling
 * with a short first interval, because a diagnosis must finish in seconds.
 */
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { type AbortOptions, settleOnce } from '../deadline/index.js';
import {
  BINDING_REQUEST,
  decodeStunMessage,
  encodeStunMessage,
  type StunAddress,
  type StunMessage,
} from './stunCodec.js';

/** When requests are (re)sent, ms from the start; the answer is awaited until `giveUpMs`. */
export interface RetransmitSchedule {
  readonly sendAtMs: readonly number[];
  readonly giveUpMs: number;
}

/** For a server that should answer: quick, with two resends. */
export const ANSWER_EXPECTED: RetransmitSchedule = { sendAtMs: [0, 200, 600], giveUpMs: 1400 };
/** For a CHANGE-REQUEST whose silence is itself the answer (filtering tests), before any round trip is known. */
export const SILENCE_POSSIBLE: RetransmitSchedule = { sendAtMs: [0, 150, 450], giveUpMs: 900 };

/** The shortest wait for silence, whatever the round trip: a path's spread, a busy server. */
const SILENCE_FLOOR_MS = 400;

/**
 * How long silence is waited for once the server's round trip is measured (test I): eight round
 * trips past a 250 ms allowance, with two resends, never under SILENCE_FLOOR_MS nor over the
 * unmeasured schedule. A nearby server's silence is known sooner (the home lab: 400 ms instead of
 * 900, which made the NAT tests the doctor's slowest step); a far one's keeps the full wait.
 */
export function silenceSchedule(rttMs: number): RetransmitSchedule {
  const giveUpMs = Math.min(SILENCE_POSSIBLE.giveUpMs, Math.max(SILENCE_FLOOR_MS, 250 + 8 * Math.max(0, rttMs)));
  return { sendAtMs: [0, Math.round(giveUpMs / 6), Math.round(giveUpMs / 2)], giveUpMs };
}

/** A STUN answer and where it came from. */
export interface StunAnswer {
  readonly message: StunMessage;
  readonly from: StunAddress;
  readonly rttMs: number;
}

/** A socket for STUN transactions. */
export interface StunSocket {
  readonly local: StunAddress;
  /** Sends a Binding request; resolves with the answer, or undefined on silence. */
  binding(
    server: StunAddress,
    options?: AbortOptions & { changeIp?: boolean; changePort?: boolean; schedule?: RetransmitSchedule },
  ): Promise<StunAnswer | undefined>;
  /** Sends raw bytes (the hairpin test sends a request to our own mapped address). */
  sendRaw(bytes: Uint8Array, to: StunAddress): void;
  /** Resolves when a request with this transaction id arrives at this socket (hairpin), or undefined after `ms`. */
  awaitIncoming(transactionId: Uint8Array, ms: number): Promise<boolean>;
  readonly warnings: string[];
  close(): void;
}

/** Opens a STUN socket on an ephemeral port (IPv4). */
export function openStunSocket(bindAddress = '0.0.0.0'): Promise<StunSocket> {
  const socket: Socket = createSocket('udp4');
  const pending = new Map<string, (answer: StunAnswer) => void>();
  const incoming = new Map<string, () => void>();
  const warnings: string[] = [];
  socket.on('error', (error) => warnings.push(`socket: ${error.message}`));
  socket.on('message', (bytes, remote) => {
    let message: StunMessage;
    try {
      message = decodeStunMessage(bytes);
    } catch (error) {
      if (warnings.length < 50)
        warnings.push(
          `ignored ${bytes.length} bytes from ${remote.address}:${remote.port}: ${(error as Error).message}`,
        );
      return;
    }
    const key = Buffer.from(message.transactionId).toString('hex');
    if (message.type === BINDING_REQUEST) {
      incoming.get(key)?.();
      return;
    }
    const resolve = pending.get(key);
    if (resolve) resolve({ message, from: { address: remote.address, port: remote.port }, rttMs: 0 });
    else if (warnings.length < 50)
      warnings.push(`ignored an answer with an unknown transaction id from ${remote.address}:${remote.port}`);
  });
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, bindAddress, () => {
      socket.off('error', reject);
      const { address, port } = socket.address();
      resolve({
        local: { address, port },
        warnings,
        sendRaw: (bytes, to) => socket.send(bytes, to.port, to.address),
        binding(server, options = {}) {
          const transactionId = randomBytes(12);
          const key = transactionId.toString('hex');
          const request = encodeStunMessage({
            type: BINDING_REQUEST,
            transactionId,
            ...(options.changeIp || options.changePort
              ? { changeRequest: { changeIp: !!options.changeIp, changePort: !!options.changePort } }
              : {}),
          });
          const schedule = options.schedule ?? ANSWER_EXPECTED;
          const started = performance.now();
          const timers: NodeJS.Timeout[] = [];
          return settleOnce<StunAnswer | undefined>(
            options.signal,
            (done) => {
              pending.set(key, (answer) =>
                done(undefined, { ...answer, rttMs: Math.round((performance.now() - started) * 100) / 100 }),
              );
              for (const at of schedule.sendAtMs)
                timers.push(setTimeout(() => socket.send(request, server.port, server.address, () => {}), at));
              timers.push(setTimeout(() => done(undefined, undefined), schedule.giveUpMs));
            },
            () => {
              for (const timer of timers) clearTimeout(timer);
              pending.delete(key);
            },
          );
        },
        awaitIncoming(transactionId, ms) {
          const key = Buffer.from(transactionId).toString('hex');
          let timer: NodeJS.Timeout | undefined;
          return settleOnce<boolean>(
            undefined,
            (done) => {
              incoming.set(key, () => done(undefined, true));
              timer = setTimeout(() => done(undefined, false), ms);
            },
            () => {
              clearTimeout(timer);
              incoming.delete(key);
            },
          );
        },
        close: () => socket.close(),
      });
    });
  });
}
