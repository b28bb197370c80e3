/**
 * A vantage point: connects out to NATS (so it works behind NAT), takes signed check orders
 * for its region (queue group) or its own name, and probes only the target the front signed,
 * under the single checker's rules: public targets only (or --allow-targets), a port cap,
 * per-target concurrency and rate. An order seen again (the front re-sends after a stall)
 * is never probed twice: the answer is replayed.
 */
import type { KeyObject } from 'node:crypto';
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { type AbortOptions, throwIfAborted } from '../deadline/index.js';
import { PortholeError } from '../errors/index.js';
import {
  type Cidr,
  cidrContains,
  countPorts,
  isPublicUnicast,
  parseIp,
  parsePortSpec,
  portEntries,
} from '../net/index.js';
import { createProbeHold, probePorts } from '../probe/index.js';
import { decodeSignedOrder, encodeHeartbeat, encodeReply } from './codec.js';
import { connectFleet, type NatsSettings } from './connection.js';
import {
  DISCOVER_SUBJECT,
  healthSubject,
  isSubjectToken,
  regionOrderSubject,
  regionQueue,
  vantageOrderSubject,
} from './subjects.js';
import type { CheckOrder, VantageHeartbeat, VantageIdentity, VantageReply } from './types.js';

/**
 * How long a vantage keeps its open probe connections after replying: the front gathers the other
 * vantages and answers the caller, who then looks for the connection among its sockets.
 */
const HOLD_AFTER_REPLY_MS = 3000;

/** A vantage's settings. */
export interface VantageOptions {
  readonly nats: NatsSettings;
  readonly name: string;
  /** Vantages of one region share its orders (queue group); default: the name. */
  readonly region?: string;
  /** The front's Ed25519 public key: orders not signed with its private half are refused. */
  readonly frontKey: KeyObject;
  /** Non-public ranges that may be probed anyway (a lab's own ranges). */
  readonly allowTargets?: readonly Cidr[];
  readonly maxPorts?: number;
  /** Orders per target per minute this vantage accepts. */
  readonly rateLimitPerMinute?: number;
  /** Orders one target may have probing here at once. */
  readonly concurrencyPerCaller?: number;
  readonly probeConcurrency?: number;
  /** The longest per-port probe deadline an order may ask for. */
  readonly maxProbeTimeoutMs?: number;
  readonly heartbeatMs?: number;
  readonly version?: string;
  /** One line per order and per refusal (stderr in the CLI). */
  readonly log?: (line: string) => void;
}

/** What a running vantage has done, for tests and its heartbeat. */
export interface VantageStats {
  readonly probed: number;
  readonly running: number;
  readonly refused: number;
  /** Orders answered from the replay cache instead of being probed again. */
  readonly replayed: number;
}

/** A running vantage. */
export interface RunningVantage {
  readonly identity: VantageIdentity;
  stats(): VantageStats;
  close(): Promise<void>;
}

/** Answers are replayed for this long: longer than any front waits for one check. */
const REPLAY_MS = 5 * 60_000;
/** At most this many orders remembered: bounded memory whatever the order rate. */
const REPLAY_CAP = 10_000;
/** Keepalives no more often than this, whatever an order asks. */
const MIN_KEEPALIVE_MS = 100;

type Remembered = { state: 'running'; reply: string; at: number } | { state: 'done'; answer: Uint8Array; at: number };

/** Connects to NATS and serves orders until close(). */
export async function startVantage(options: VantageOptions, abort: AbortOptions = {}): Promise<RunningVantage> {
  throwIfAborted(abort.signal);
  const identity: VantageIdentity = { name: options.name, region: options.region ?? options.name };
  for (const [what, value] of Object.entries(identity)) {
    if (!isSubjectToken(value)) {
      throw new PortholeError('E_USAGE', {
        detail: `vantage ${what} "${value}" must be letters, digits, - or _ (1 to 64)`,
      });
    }
  }
  const settings = {
    allowTargets: options.allowTargets ?? [],
    maxPorts: options.maxPorts ?? 64,
    rateLimitPerMinute: options.rateLimitPerMinute ?? 30,
    concurrencyPerCaller: options.concurrencyPerCaller ?? 2,
    probeConcurrency: options.probeConcurrency ?? 16,
    maxProbeTimeoutMs: options.maxProbeTimeoutMs ?? 10_000,
    heartbeatMs: options.heartbeatMs ?? 5_000,
    version: options.version ?? '0.0.0',
  };
  const log = options.log ?? (() => {});
  const nc: NatsConnection = await connectFleet(options.nats, abort);
  const stopping = new AbortController();
  const remembered = new Map<string, Remembered>();
  const runningPerTarget = new Map<string, number>();
  const recentPerTarget = new Map<string, number[]>();
  const counts = { probed: 0, refused: 0, replayed: 0, running: 0 };

  const heartbeat = () => {
    const beat: VantageHeartbeat = {
      ...identity,
      at: Date.now(),
      probed: counts.probed,
      running: counts.running,
      refused: counts.refused,
      version: settings.version,
      intervalMs: settings.heartbeatMs,
    };
    if (!nc.isClosed()) nc.publish(healthSubject(identity.name), encodeHeartbeat(beat));
  };

  const refuse = (msg: Msg, id: string, error: PortholeError) => {
    counts.refused++;
    log(`refused order ${id || '(unreadable)'}: ${error.code} ${error.message}`);
    msg.respond(
      encodeReply({ kind: 'refused', id, vantage: identity, error: { code: error.code, message: error.message } }),
    );
  };

  /** The single checker's rules, applied to what the front signed. */
  const admit = (order: CheckOrder): void => {
    const target = parseIp(order.target);
    if (!isPublicUnicast(target) && !settings.allowTargets.some((cidr) => cidrContains(cidr, target))) {
      throw new PortholeError('E_TARGET_NOT_ALLOWED', { detail: `${order.target} is not a public address` });
    }
    const count = countPorts(parsePortSpec(order.ports));
    if (count > settings.maxPorts) {
      throw new PortholeError('E_TOO_MANY_PORTS', { detail: `${count} ports asked, at most ${settings.maxPorts}` });
    }
    if ((runningPerTarget.get(order.target) ?? 0) >= settings.concurrencyPerCaller) {
      throw new PortholeError('E_RATE_LIMITED', { detail: `checks of ${order.target} are still running here` });
    }
    const now = Date.now();
    const recent = (recentPerTarget.get(order.target) ?? []).filter((at) => now - at < 60_000);
    if (recent.length >= settings.rateLimitPerMinute) {
      throw new PortholeError('E_RATE_LIMITED', {
        detail: `more than ${settings.rateLimitPerMinute} checks per minute`,
      });
    }
    recent.push(now);
    recentPerTarget.set(order.target, recent);
  };

  const forgetOld = () => {
    const now = Date.now();
    for (const [id, entry] of remembered) {
      if (remembered.size <= REPLAY_CAP && now - entry.at < REPLAY_MS) break;
      if (entry.state === 'done') remembered.delete(id);
    }
  };

  const probe = async (order: CheckOrder, entry: { reply: string }) => {
    const started = performance.now();
    counts.running++;
    runningPerTarget.set(order.target, (runningPerTarget.get(order.target) ?? 0) + 1);
    // The front's stall timer hears from us while probes wait on filtered ports.
    const keepalive = setInterval(
      () => nc.publish(entry.reply, encodeReply({ kind: 'working', id: order.id, vantage: identity })),
      Math.max(MIN_KEEPALIVE_MS, order.keepaliveMs),
    );
    let answer: VantageReply;
    // Open connections stay up until the caller can have the answer (the identity proof).
    const holder = createProbeHold();
    try {
      const results = await probePorts(order.target, [...portEntries(parsePortSpec(order.ports))], {
        timeoutMs: Math.min(order.probeTimeoutMs, settings.maxProbeTimeoutMs),
        concurrency: settings.probeConcurrency,
        proofKey: order.proofKey ? Buffer.from(order.proofKey, 'base64') : undefined,
        signal: stopping.signal,
        hold: holder.hold,
      });
      counts.probed++;
      answer = {
        kind: 'result',
        id: order.id,
        vantage: identity,
        results,
        ms: Math.round(performance.now() - started),
      };
      log(`order ${order.id}: ${order.target} ${results.map((r) => `${r.port}/${r.protocol}:${r.state}`).join(' ')}`);
    } catch (error) {
      const known = error instanceof PortholeError ? error : new PortholeError('E_INTERNAL', { cause: error });
      answer = {
        kind: 'refused',
        id: order.id,
        vantage: identity,
        error: { code: known.code, message: known.message },
      };
    } finally {
      clearInterval(keepalive);
      counts.running--;
      const left = (runningPerTarget.get(order.target) ?? 1) - 1;
      if (left > 0) runningPerTarget.set(order.target, left);
      else runningPerTarget.delete(order.target);
    }
    const bytes = encodeReply(answer);
    remembered.set(order.id, { state: 'done', answer: bytes, at: Date.now() });
    if (!nc.isClosed()) nc.publish(entry.reply, bytes);
    holder.release(HOLD_AFTER_REPLY_MS);
  };

  const onOrder = (msg: Msg) => {
    // An order without a reply subject cannot be answered: nothing to do.
    if (!msg.reply) return;
    let order: CheckOrder;
    try {
      order = decodeSignedOrder(msg.data, options.frontKey);
    } catch (error) {
      refuse(msg, '', error instanceof PortholeError ? error : new PortholeError('E_FLEET_MESSAGE'));
      return;
    }
    const seen = remembered.get(order.id);
    if (seen?.state === 'done') {
      counts.replayed++;
      msg.respond(seen.answer);
      return;
    }
    if (seen?.state === 'running') {
      // A re-sent order: answer on its (possibly new) reply subject when the probes end.
      seen.reply = msg.reply;
      msg.respond(encodeReply({ kind: 'working', id: order.id, vantage: identity }));
      return;
    }
    try {
      admit(order);
    } catch (error) {
      refuse(msg, order.id, error instanceof PortholeError ? error : new PortholeError('E_INTERNAL'));
      return;
    }
    forgetOld();
    const entry: Remembered = { state: 'running', reply: msg.reply, at: Date.now() };
    remembered.set(order.id, entry);
    msg.respond(encodeReply({ kind: 'accepted', id: order.id, vantage: identity }));
    log(`accepted order ${order.id}: ${order.target} ${order.ports}`);
    void probe(order, entry);
  };

  const subscriptions: Subscription[] = [
    nc.subscribe(regionOrderSubject(identity.region), {
      queue: regionQueue(identity.region),
      callback: (_e, m) => onOrder(m),
    }),
    nc.subscribe(vantageOrderSubject(identity.name), { callback: (_e, m) => onOrder(m) }),
    nc.subscribe(DISCOVER_SUBJECT, { callback: () => heartbeat() }),
  ];
  // Subscriptions are in place at the server before the first heartbeat announces us.
  await nc.flush();
  heartbeat();
  const beat = setInterval(heartbeat, settings.heartbeatMs);
  beat.unref();
  log(`vantage ${identity.name} (region ${identity.region}) connected to ${nc.getServer()}`);
  // Operators see a broker restart in the vantage's log; the client resubscribes by itself.
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') log(`disconnected from ${nc.getServer()}`);
      else if (status.type === 'reconnect') log(`reconnected to ${nc.getServer()}`);
    }
  })();

  let closed = false;
  return {
    identity,
    stats: () => ({ ...counts }),
    close: async () => {
      if (closed) return;
      closed = true;
      clearInterval(beat);
      stopping.abort(new PortholeError('E_ABORTED'));
      for (const subscription of subscriptions) subscription.unsubscribe();
      await nc.drain().catch(() => nc.close());
    },
  };
}
