/**
 * Per-caller check limits shared by every front: a fixed one-minute window counted in a NATS
 * KV bucket, incremented with compare-and-set on the entry's revision so two fronts counting
 * the same caller at once never lose a count. Entries expire with the bucket's TTL.
 */
import type { KV } from '@nats-io/kv';
import { PortholeError } from '../errors/index.js';

/** Whether a caller may run one more check now. */
export interface CallerLimiter {
  /** Counts a check for `caller`; throws E_RATE_LIMITED when over the limit. */
  take(caller: string): Promise<void>;
}

/** A window; entries outlive it by one more window, then the bucket's TTL drops them. */
export const LIMIT_WINDOW_MS = 60_000;
/** A KV read slower than this means the bucket is unreachable for now. */
const KV_TIMEOUT_MS = 1_000;
/** Compare-and-set attempts before counting locally: only checks racing on one caller retry. */
const CAS_ATTEMPTS = 12;
/** Upper bound of the random pause after a lost race, times the attempt number (spreads the racers). */
const CAS_BACKOFF_MS = 2;

/** The KV key of a caller: KV keys allow letters, digits and `-_=.`; IPv6 colons become `_`. */
export function limitKey(caller: string): string {
  return `caller.${caller.replace(/[^A-Za-z0-9.-]/g, '_')}`;
}

function limited(limit: number, windowStart: number, now: number): PortholeError {
  const after = Math.max(1, Math.ceil((windowStart + LIMIT_WINDOW_MS - now) / 1000));
  return new PortholeError('E_RATE_LIMITED', {
    detail: `more than ${limit} checks per minute`,
    hint: `Retry after ${after} seconds.`,
    data: { retryAfter: after },
  });
}

/** The promise's value, or a rejection once `ms` have passed; the timer never outlives it. */
async function beforeTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new PortholeError('E_TIMEOUT', { detail: `no answer in ${ms} ms` })), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A limiter counting in a KV bucket every front shares. While the bucket cannot be reached
 * (nats-server restarting), or when a caller's many simultaneous checks keep losing the
 * compare-and-set race, `fallback` counts instead: checks go on with per-front limits rather
 * than failing.
 */
export function kvLimiter(kv: KV, perMinute: number, fallback: CallerLimiter): CallerLimiter {
  return {
    async take(caller) {
      const key = limitKey(caller);
      for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
        const now = Date.now();
        const window = now - (now % LIMIT_WINDOW_MS);
        let entry: Awaited<ReturnType<KV['get']>>;
        try {
          entry = await beforeTimeout(kv.get(key), KV_TIMEOUT_MS);
        } catch {
          return fallback.take(caller);
        }
        const value = entry && entry.operation === 'PUT' ? (entry.json() as { window?: number; count?: number }) : null;
        const count = value?.window === window ? (value.count ?? 0) : 0;
        if (count >= perMinute) throw limited(perMinute, window, now);
        const next = JSON.stringify({ window, count: count + 1 });
        try {
          if (entry) await kv.update(key, next, entry.revision);
          else await kv.create(key, next);
          return;
        } catch {
          // Another check counted in between (wrong last revision): back off a little, read again.
          await new Promise((resolve) => setTimeout(resolve, Math.random() * CAS_BACKOFF_MS * (attempt + 1)));
        }
      }
      // Still racing after every attempt (many checks of one caller at once): count here rather
      // than refuse a check the shared count never got to judge.
      return fallback.take(caller);
    },
  };
}

/** A limiter in this process only: for a front without JetStream (its limits are per front). */
export function localLimiter(perMinute: number): CallerLimiter {
  const windows = new Map<string, { window: number; count: number }>();
  return {
    async take(caller) {
      const now = Date.now();
      const window = now - (now % LIMIT_WINDOW_MS);
      for (const [key, value] of windows) if (value.window !== window) windows.delete(key);
      const value = windows.get(caller) ?? { window, count: 0 };
      if (value.count >= perMinute) throw limited(perMinute, window, now);
      windows.set(caller, { window, count: value.count + 1 });
    },
  };
}
