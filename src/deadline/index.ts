/**
 * Deadlines and cancellation, handled the same way everywhere (the undici way): check
 * `aborted` before starting, pass `signal.reason` on, always remove the listener.
 */
import { PortholeError } from '../errors/index.js';

/** Options every public async operation of porthole accepts. */
export interface AbortOptions {
  signal?: AbortSignal | undefined;
}

/**
 * A signal that aborts when `signal` does or when `ms` have passed, whichever is first.
 * The timeout's reason is a PortholeError E_TIMEOUT naming `what`, so callers can tell
 * their own deadline from a cancellation by the user.
 */
export function withDeadline(signal: AbortSignal | undefined, ms: number, what = 'operation'): AbortSignal {
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`deadline must be a non-negative number of ms, got ${ms}`);
  const timeout = new AbortController();
  const timer = setTimeout(
    () => timeout.abort(new PortholeError('E_TIMEOUT', { detail: `${what} took longer than ${ms} ms` })),
    ms,
  );
  // The timer must never keep the process alive on its own.
  timer.unref?.();
  const combined = signal ? AbortSignal.any([signal, timeout.signal]) : timeout.signal;
  combined.addEventListener('abort', () => clearTimeout(timer), { once: true });
  return combined;
}

/** Throws the signal's reason (or E_ABORTED) when it has already aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortReason(signal);
}

/** The error to throw for an aborted signal: its reason when that is an Error, else E_ABORTED. */
export function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && reason.name !== 'AbortError') return reason;
  return new PortholeError('E_ABORTED', { cause: reason });
}

/**
 * Runs `start` with a `done` callback wired to the signal: the promise settles exactly once,
 * and `cleanup` runs exactly once on every outcome (value, error or abort) — the one cleanup
 * path per socket that STYLE.md asks for.
 */
export function settleOnce<T>(
  signal: AbortSignal | undefined,
  start: (done: (error: Error | undefined, value?: T) => void) => void,
  cleanup: () => void = () => {},
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortReason(signal));
      return;
    }
    let settled = false;
    const onAbort = () => done(abortReason(signal as AbortSignal));
    function done(error: Error | undefined, value?: T): void {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      try {
        cleanup();
      } finally {
        if (error) reject(error);
        else resolve(value as T);
      }
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      start(done);
    } catch (error) {
      done(error instanceof Error ? error : new Error(String(error)));
    }
  });
}

/** Waits `ms`, or rejects with the abort reason as soon as `signal` aborts. */
export function sleep(ms: number, options: AbortOptions = {}): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return settleOnce<void>(
    options.signal,
    (done) => {
      timer = setTimeout(() => done(undefined), ms);
    },
    () => clearTimeout(timer),
  );
}

/**
 * Sleeps `ms`, or less: until `wake` dispatches a `wake` event (a router's announcement, a page's
 * "check again") or `signal` aborts. Never rejects; a caller that must stop asks its signal.
 */
export async function sleepOrWake(ms: number, options: AbortOptions & { readonly wake?: EventTarget }): Promise<void> {
  const woken = new AbortController();
  const onWake = () => woken.abort();
  options.wake?.addEventListener('wake', onWake, { once: true });
  try {
    await sleep(ms, { signal: AbortSignal.any([woken.signal, ...(options.signal ? [options.signal] : [])]) }).catch(
      () => {},
    );
  } finally {
    options.wake?.removeEventListener('wake', onWake);
  }
}
