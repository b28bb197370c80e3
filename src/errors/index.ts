/** Public face of porthole's errors: the registry and the error class every module throws. */
import { type ErrorCode, type ErrorKind, errorRegistry } from './registry.js';

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
  }

  /** The JSON shape printed under `error` by `--json`. */
  toJSON(): { code: ErrorCode; message: string; hint: string } & Record<string, unknown> {
    return { code: this.code, message: this.message, hint: this.hint, ...this.data };
  }
}

/** Exit status for an error, per the command-line contract: 2 usage, 3 operational. */
export function exitCodeFor(error: unknown): 2 | 3 {
  return isPortholeError(error) && error.kind === 'usage' ? 2 : 3;
}

/** Type guard for PortholeError. */
export function isPortholeError(value: unknown): value is PortholeError {
  return value instanceof PortholeError;
}

/** Wraps anything thrown into a PortholeError, keeping the original as `cause`. */
export function toPortholeError(value: unknown): PortholeError {
  if (isPortholeError(value)) return value;
  const detail = value instanceof Error ? value.message : String(value);
  return new PortholeError('E_INTERNAL', { detail, cause: value });
}
