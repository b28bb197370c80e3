/**
 * Scatter-gather over NATS: one signed order to each asked region (queue group) or vantage,
 * replies on one inbox, a stall timer per target and one deadline for all. A target silent
 * for a stall gets the order again (same id: the vantage replays, never probes twice); one
 * silent for three stalls, or still waiting at the deadline, is `unknown`, never `closed`.
 */
import { createInbox, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { type AbortOptions, throwIfAborted } from '../deadline/index.js';
import { decodeReply } from './codec.js';
import type { VantageAnswer } from './types.js';

/** Where one order goes and what to call the answer if none comes. */
export interface GatherTarget {
  readonly subject: string;
  /** Name and region to report when no vantage answers. */
  readonly name: string;
  readonly region: string;
}

/** Timing of one gather. */
export interface GatherOptions extends AbortOptions {
  /** Every target settles by then. */
  readonly deadlineMs: number;
  /** Silence after which the order is sent again; three in a row make the target unknown. */
  readonly stallMs: number;
}

/** Sends in a row without a word back before a target is given up as unknown. */
const MAX_SENDS = 3;

/** Sends `order` to every target and collects one answer per target, in the targets' order. */
export async function gather(
  nc: NatsConnection,
  id: string,
  order: Uint8Array,
  targets: readonly GatherTarget[],
  options: GatherOptions,
): Promise<VantageAnswer[]> {
  throwIfAborted(options.signal);
  const started = performance.now();
  const inbox = createInbox();
  const answers: (VantageAnswer | undefined)[] = targets.map(() => undefined);
  const stallTimers: (NodeJS.Timeout | undefined)[] = targets.map(() => undefined);
  const sends = targets.map(() => 0);
  let left = targets.length;
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const elapsed = () => Math.round(performance.now() - started);

  const settle = (index: number, answer: VantageAnswer) => {
    if (answers[index]) return;
    answers[index] = answer;
    clearTimeout(stallTimers[index]);
    if (--left === 0) finish();
  };
  const unknown = (index: number, reason: string) => {
    const target = targets[index] as GatherTarget;
    settle(index, { name: target.name, region: target.region, state: 'unknown', results: [], reason, ms: elapsed() });
  };
  const send = (index: number) => {
    sends[index] = (sends[index] ?? 0) + 1;
    nc.publish((targets[index] as GatherTarget).subject, order, { reply: `${inbox}.${index}` });
    armStall(index);
  };
  const armStall = (index: number) => {
    clearTimeout(stallTimers[index]);
    stallTimers[index] = setTimeout(() => {
      if ((sends[index] ?? 0) >= MAX_SENDS) unknown(index, 'stalled');
      else send(index);
    }, options.stallMs);
  };
  const heard = (index: number) => {
    // A word from the vantage: it lives; the next silence starts a fresh count.
    sends[index] = 1;
    armStall(index);
  };

  const onReply = (msg: Msg) => {
    const index = Number(msg.subject.slice(inbox.length + 1));
    if (!Number.isInteger(index) || index < 0 || index >= targets.length || answers[index]) return;
    // The server's 503 "no responders": nobody subscribes there right now; the stall timer decides.
    if (msg.headers?.code === 503) return;
    let reply: ReturnType<typeof decodeReply>;
    try {
      reply = decodeReply(msg.data);
    } catch {
      return;
    }
    if (reply.id !== id) return;
    const target = targets[index] as GatherTarget;
    if (reply.kind === 'accepted' || reply.kind === 'working') {
      heard(index);
    } else if (reply.kind === 'result') {
      settle(index, {
        name: reply.vantage.name,
        region: reply.vantage.region || target.region,
        state: 'answered',
        results: reply.results,
        ms: elapsed(),
      });
    } else if (reply.kind === 'refused') {
      settle(index, {
        name: reply.vantage.name,
        region: reply.vantage.region || target.region,
        state: 'refused',
        results: [],
        reason: reply.error.code,
        ms: elapsed(),
      });
    }
  };

  const subscription = nc.subscribe(`${inbox}.*`, { callback: (_error, msg) => onReply(msg) });
  const deadline = setTimeout(() => {
    for (let index = 0; index < targets.length; index++) unknown(index, 'deadline');
  }, options.deadlineMs);
  const onAbort = () => {
    for (let index = 0; index < targets.length; index++) unknown(index, 'aborted');
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    if (targets.length === 0) return [];
    for (let index = 0; index < targets.length; index++) send(index);
    await finished;
    throwIfAborted(options.signal);
    return answers as VantageAnswer[];
  } finally {
    clearTimeout(deadline);
    for (const timer of stallTimers) clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
    subscription.unsubscribe();
  }
}
