/** Reconnect delays: exponential from 1 s to 30 s with full jitter, so many clients of one relay do not return in step. */

/** The first retry waits about this long. */
export const BACKOFF_MIN_MS = 1000;
/** No retry waits longer than this. */
export const BACKOFF_MAX_MS = 30_000;

/** The delay before retry number `attempt` (0-based): uniform in [cap/2, cap], cap = min(30 s, 1 s · 2^attempt). */
export function backoffDelay(attempt: number, random: () => number = Math.random): number {
  const cap = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.min(attempt, 16));
  return Math.round(cap / 2 + (random() * cap) / 2);
}
