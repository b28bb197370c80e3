/** Public face of porthole's errors: the registry and the error class every module throws. */
import { type ErrorCode, type ErrorEntry, type ErrorKind, errorRegistry } from './registry.js';

export { type ErrorCode, type ErrorEntry, type ErrorKind, errorCodes, errorRegistry } from './registry.js';

/** Options for a PortholeError beyond its code. */
export interface PortholeErrorOptions {
  /** Specifics appended to the registry message (what value, which file). */
  detail?: string;
  /** Overrides the registry hint when a more precise one is known. */
  hint?: string;
  /** The underlying error, kept for --verbose. */
  cause?: unknown;
  /** Extra machine-readable fields for --json output. */
  data?: Record<string, unknown>;
}

/**
 * The mark every PortholeError carries. `Symbol.for` gives the same symbol to every copy of
 * porthole loaded in one process (a vendor's app and a plugin each with their own install), so
 * an error from either is recognised by both; undici marks its errors the same way.
 */
const BRAND = Symbol.for('porthole.error');

/** The one error class of porthole: a stable code from the registry plus specifics. */
export class PortholeError extends Error {
  override readonly name = 'PortholeError';
  readonly code: ErrorCode;
  readonly hint: string;
  readonly kind: ErrorKind;
  readonly detail: string | undefined;
  readonly data: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, options: PortholeErrorOptions = {}) {
    const entry = errorRegistry[code];
    const message = options.detail ? `${entry.message}: ${options.detail}` : entry.message;
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.kind = entry.kind;
    this.hint = options.hint ?? entry.hint;
    this.detail = options.detail;
    this.data = options.data;
    // Not enumerable: the mark must not show up in JSON or in a spread of the error.
    Object.defineProperty(this, BRAND, { value: true });
  }

  /** `instanceof PortholeError` is true for an error made by any installed copy of porthole. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return isPortholeError(value);
  }

  /** The JSON shape printed under `error` by `--json`. */
  toJSON(): { code: ErrorCode; message: string; hint: string } & Record<string, unknown> {
    return { code: this.code, message: this.message, hint: this.hint, ...this.data };
  }
}

/** The HTTP status a service answers `code` with (the registry's `httpStatus`); undefined when no route throws it. */
export function httpStatusFor(code: ErrorCode): number | undefined {
  return (errorRegistry[code] as ErrorEntry).httpStatus;
}

/** The shell's status for a command ended by Ctrl-C: 128 + SIGINT (2). */
export const EXIT_INTERRUPTED = 130;

/** Exit status for an error, per the command-line contract: 2 usage, 3 operational, 130 interrupted. */
export function exitCodeFor(error: unknown): 2 | 3 | typeof EXIT_INTERRUPTED {
  if (!isPortholeError(error)) return 3;
  if (error.code === 'E_ABORTED') return EXIT_INTERRUPTED;
  return error.kind === 'usage' ? 2 : 3;
}

/** Type guard for PortholeError, true across installed copies of porthole (it reads the `Symbol.for` mark). */
export function isPortholeError(value: unknown): value is PortholeError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}

/**
 * Wraps anything thrown into a PortholeError, keeping the original as `cause`: an AbortError
 * (an AbortSignal's default reason, a fetch or stream cut short) becomes E_ABORTED and a
 * TimeoutError (`AbortSignal.timeout`) E_TIMEOUT, so a cancellation is never an internal error.
 */
export function toPortholeError(value: unknown): PortholeError {
  if (isPortholeError(value)) return value;
  const name = value instanceof Error ? value.name : undefined;
  if (name === 'AbortError') return new PortholeError('E_ABORTED', { cause: value });
  if (name === 'TimeoutError')
    return new PortholeError('E_TIMEOUT', { detail: (value as Error).message, cause: value });
  const detail = value instanceof Error ? value.message : String(value);
  return new PortholeError('E_INTERNAL', { detail, cause: value });
}

/** The chain of causes under an error (its `cause`, that one's `cause`, ...), at most `limit` deep. */
export function causeChain(error: unknown, limit = 8): unknown[] {
  const chain: unknown[] = [];
  let at: unknown = (error as { cause?: unknown } | undefined)?.cause;
  while (at !== undefined && chain.length < limit && !chain.includes(at)) {
    chain.push(at);
    at = typeof at === 'object' && at !== null ? (at as { cause?: unknown }).cause : undefined;
  }
  return chain;
}
