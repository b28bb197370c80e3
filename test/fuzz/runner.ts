/**
 * The one fuzz runner every target shares. A target names a decoder that reads bytes from the
 * network or a file, the PortholeError codes it may reject input with, real captures as seeds
 * and a generator of valid messages with the value each should decode to. The runner feeds it,
 * from fast-check, a mix of arbitrary bytes, mutations of the seeds and of valid messages, and
 * valid messages (checked by round trip), and counts what came back:
 *   - a value, or a PortholeError with one of the target's codes: fine;
 *   - anything else thrown (TypeError, RangeError, another code), or a round trip that does not
 *     give the value back: a crash, kept with its input (minimised) to become a fixture.
 * Each input is timed; the slowest is reported (goal < 10 ms). The run is synchronous and bounded
 * by its count; a decoder that never returns is caught by the worker watchdog in scripts/fuzz.ts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { type ErrorCode, PortholeError } from '../../src/errors/index.js';

/** One generated input: the bytes, and for a valid message the value it must decode to. */
export interface FuzzCase<V> {
  readonly bytes: Uint8Array;
  readonly expected?: V;
}

/** A decoder under fuzzing. */
export interface FuzzTarget<V = unknown> {
  /** Short id: the file is test/fuzz/<name>.fuzz.ts. */
  readonly name: string;
  /** What is fuzzed, for the report (functions and file). */
  readonly decoder: string;
  /** Codes a malformed input may be rejected with (a PortholeError with another code is a crash). */
  readonly rejectCodes: readonly ErrorCode[];
  /** Real captures and hand-made quirks from test/fixtures: the mutation corpus. */
  readonly seeds: readonly Uint8Array[];
  /** Valid messages with the value each must decode to. */
  readonly valid: fc.Arbitrary<FuzzCase<V>>;
  /**
   * Inputs in `npm test`'s short run when 10⁴ would take most of its minute (a slow decoder);
   * the long run (`npm run fuzz`) gives every target the same count.
   */
  readonly shortRuns?: number;
  /** Largest arbitrary input worth generating (the decoder's own cap, or a little over it). */
  readonly maxBytes: number;
  /** Decodes one input the way porthole's I/O layer would (undefined: "not one of ours"). */
  readonly decode: (bytes: Uint8Array) => V | undefined;
  /** Compares a decoded valid message with what was encoded; defaults to deep equality. */
  readonly same?: (decoded: V | undefined, expected: V) => boolean;
}

/** An input that broke the property. */
export interface FuzzCrash {
  /** `TypeError: ...`, `PortholeError E_X: ...` or `round trip: ...`: the same signature is one bug. */
  readonly signature: string;
  readonly bytes: Uint8Array;
  readonly stack?: string;
}

/** What one run of a target measured. */
export interface FuzzReport {
  readonly name: string;
  readonly decoder: string;
  readonly inputs: number;
  readonly seconds: number;
  readonly inputsPerSecond: number;
  /** Inputs decoded to a value / rejected with an expected code. */
  readonly values: number;
  readonly rejected: number;
  /** Distinct crashes (by signature), each with its smallest input found. */
  readonly crashes: readonly FuzzCrash[];
  /** The slowest input's own time: an input over SLOW_INPUT_MS is re-timed and its best run kept. */
  readonly slowestMs: number;
  /** The slowest single measurement, GC pauses and other load on the machine included. */
  readonly rawSlowestMs: number;
  readonly slowestInput: Uint8Array;
  /** Inputs whose own time (re-timed) is longer than SLOW_INPUT_MS. */
  readonly slowInputs: number;
  readonly seed: number;
}

/** The goal for one input's decoding time. */
export const SLOW_INPUT_MS = 10;

const encoder = new TextEncoder();

/** The real captures in test/fixtures/<folder>/ (hex, one per file) whose names start with `prefix`. */
export function captures(prefix: string, folderName = 'gateway'): Uint8Array[] {
  const folder = new URL(`../fixtures/${folderName}/`, import.meta.url);
  return readdirSync(folder)
    .filter((file) => file.startsWith(prefix) && file.endsWith('.hex'))
    .map((file) => Buffer.from(readFileSync(new URL(file, folder), 'utf8').trim(), 'hex'));
}

/** Bytes of a text, for seeds and valid generators. */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** One way to damage bytes, as libFuzzer's mutators do. */
type Mutation =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'set'; at: number; value: number }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'delete'; at: number; length: number }
  | { op: 'truncate'; at: number }
  | { op: 'repeat'; at: number; length: number; times: number }
  | { op: 'interesting'; at: number; width: 1 | 2 | 4; value: number };

/** Boundary values that find off-by-one and sign bugs in length fields. */
const INTERESTING = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0xffffffff];

const mutationArbitrary: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }),
  fc.record({ op: fc.constant('set' as const), at: fc.nat(), value: fc.nat(255) }),
  fc.record({
    op: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.oneof(
      fc.uint8Array({ minLength: 1, maxLength: 16 }),
      fc.constantFrom(
        ...['<', '>', '&', '"', ':', '\r\n', '\n', '</', '/>', '<!--', ']]>', '\0', '%', '-', '.'].map(utf8),
      ),
    ),
  }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 32 }) }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({
    op: fc.constant('repeat' as const),
    at: fc.nat(),
    length: fc.integer({ min: 1, max: 64 }),
    times: fc.integer({ min: 1, max: 64 }),
  }),
  fc.record({
    op: fc.constant('interesting' as const),
    at: fc.nat(),
    width: fc.constantFrom(1 as const, 2 as const, 4 as const),
    value: fc.constantFrom(...INTERESTING),
  }),
);

function applyMutation(input: Uint8Array, mutation: Mutation, maxBytes: number): Uint8Array {
  const at = input.length === 0 ? 0 : mutation.at % (input.length + 1);
  let out: Uint8Array;
  switch (mutation.op) {
    case 'flip':
      out = Uint8Array.from(input);
      if (at < out.length) out[at] = (out[at] ?? 0) ^ (1 << mutation.bit);
      break;
    case 'set':
      out = Uint8Array.from(input);
      if (at < out.length) out[at] = mutation.value;
      break;
    case 'insert':
      out = new Uint8Array([...input.subarray(0, at), ...mutation.bytes, ...input.subarray(at)]);
      break;
    case 'delete':
      out = new Uint8Array([...input.subarray(0, at), ...input.subarray(at + mutation.length)]);
      break;
    case 'truncate':
      out = input.slice(0, at);
      break;
    case 'repeat': {
      const chunk = input.subarray(at, at + mutation.length);
      const parts = [input.subarray(0, at), ...Array.from({ length: mutation.times }, () => chunk), input.subarray(at)];
      out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
      let offset = 0;
      for (const part of parts) {
        out.set(part, offset);
        offset += part.length;
      }
      break;
    }
    case 'interesting': {
      out = Uint8Array.from(input);
      const view = new DataView(out.buffer);
      if (at + mutation.width <= out.length) {
        if (mutation.width === 1) view.setUint8(at, mutation.value & 0xff);
        else if (mutation.width === 2) view.setUint16(at, mutation.value & 0xffff);
        else view.setUint32(at, mutation.value >>> 0);
      }
      break;
    }
  }
  return out.length > maxBytes ? out.subarray(0, maxBytes) : out;
}

/** Everything a target is fed: arbitrary bytes, mutated seeds and valid messages, valid messages. */
export function inputsFor<V>(target: FuzzTarget<V>): fc.Arbitrary<FuzzCase<V>> {
  const corpus: fc.Arbitrary<Uint8Array> =
    target.seeds.length > 0
      ? fc.oneof(
          fc.constantFrom(...target.seeds),
          target.valid.map((c) => c.bytes),
        )
      : target.valid.map((c) => c.bytes);
  const mutated = fc
    .tuple(corpus, fc.array(mutationArbitrary, { minLength: 1, maxLength: 8 }))
    .map(([bytes, mutations]) => ({
      bytes: mutations.reduce((current, mutation) => applyMutation(current, mutation, target.maxBytes), bytes),
    }));
  const arbitrary = fc.uint8Array({ maxLength: target.maxBytes, size: 'medium' }).map((bytes) => ({ bytes }));
  // Printable noise finds more in text protocols than uniform bytes do.
  const text = fc.string({ unit: 'binary', maxLength: 512 }).map((value) => ({ bytes: utf8(value) }));
  return fc.oneof(
    { weight: 1, arbitrary },
    { weight: 1, arbitrary: text },
    { weight: 5, arbitrary: mutated },
    { weight: 3, arbitrary: target.valid },
  ) as fc.Arbitrary<FuzzCase<V>>;
}

/** Runs one input: undefined when the property held, else the crash signature. */
export function check<V>(
  target: FuzzTarget<V>,
  input: FuzzCase<V>,
): { signature?: string; stack?: string; value: boolean } {
  let decoded: V | undefined;
  try {
    decoded = target.decode(input.bytes);
  } catch (error) {
    if (error instanceof PortholeError && target.rejectCodes.includes(error.code)) {
      if (input.expected !== undefined)
        return { signature: `round trip: a valid message was rejected (${error.code})`, value: false };
      return { value: false };
    }
    const kind =
      error instanceof PortholeError
        ? `PortholeError ${error.code}`
        : error instanceof Error
          ? error.constructor.name
          : typeof error;
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    // Numbers and quoted values vary between inputs of one bug: leave them out of the signature.
    const shape = (message ?? '').replace(/\d+/g, 'N').replace(/"[^"]*"|'[^']*'/g, 'S');
    return { signature: `${kind}: ${shape}`, value: false, ...(error instanceof Error ? { stack: error.stack } : {}) };
  }
  if (input.expected !== undefined) {
    // structuredClone: fast-check's records may have a null prototype, which deep equality would count.
    const same = target.same ?? ((a: V | undefined, b: V) => isDeepStrictEqual(structuredClone(a), structuredClone(b)));
    if (!same(decoded, input.expected)) return { signature: 'round trip: decoded value differs', value: true };
  }
  return { value: decoded !== undefined };
}

/** Shrinks a crashing input by deleting chunks while the same signature still comes out. */
export function minimise<V>(target: FuzzTarget<V>, bytes: Uint8Array, signature: string): Uint8Array {
  let best = bytes;
  const stillCrashes = (candidate: Uint8Array) => check(target, { bytes: candidate }).signature === signature;
  if (signature.startsWith('round trip')) return best;
  for (let chunk = Math.max(1, best.length >> 1); chunk >= 1; chunk >>= 1) {
    for (let at = 0; at + chunk <= best.length; ) {
      const candidate = new Uint8Array([...best.subarray(0, at), ...best.subarray(at + chunk)]);
      if (stillCrashes(candidate)) best = candidate;
      else at += chunk;
    }
  }
  return best;
}

function retime<V>(target: FuzzTarget<V>, bytes: Uint8Array): number {
  const begin = performance.now();
  try {
    target.decode(bytes);
  } catch {
    // Only the time matters here; the outcome was judged on the first run.
  }
  return performance.now() - begin;
}

/** Options for one run. */
export interface FuzzRunOptions {
  readonly runs: number;
  readonly seed?: number;
  /** Called every `progressEvery` inputs (the worker's heartbeat). */
  readonly onProgress?: (done: number) => void;
  readonly progressEvery?: number;
  /** Stop after this long even if `runs` is not reached (the report says how many ran). */
  readonly timeLimitMs?: number;
}

/** Fuzzes one target for `runs` inputs. */
export function runFuzzTarget<V>(target: FuzzTarget<V>, options: FuzzRunOptions): FuzzReport {
  const seed = options.seed ?? Date.now() % 2 ** 31;
  const crashes = new Map<string, FuzzCrash>();
  let inputs = 0;
  let values = 0;
  let rejected = 0;
  let slowestMs = 0;
  let rawSlowestMs = 0;
  let slowestInput: Uint8Array = new Uint8Array();
  let slowInputs = 0;
  const every = options.progressEvery ?? 10_000;
  const started = performance.now();
  fc.check(
    fc.property(inputsFor(target), (input) => {
      const begin = performance.now();
      const outcome = check(target, input);
      const ms = performance.now() - begin;
      inputs++;
      rawSlowestMs = Math.max(rawSlowestMs, ms);
      // A slow first run is often a GC pause or another process on the core: the input's own
      // cost is the best of three more runs.
      const own = ms > SLOW_INPUT_MS ? Math.min(ms, retime(target, input.bytes), retime(target, input.bytes)) : ms;
      if (own > slowestMs) {
        slowestMs = own;
        slowestInput = input.bytes;
      }
      if (own > SLOW_INPUT_MS) slowInputs++;
      if (outcome.signature) {
        const known = crashes.get(outcome.signature);
        if (!known || input.bytes.length < known.bytes.length)
          crashes.set(outcome.signature, {
            signature: outcome.signature,
            bytes: input.bytes,
            ...(outcome.stack ? { stack: outcome.stack } : {}),
          });
      } else if (outcome.value) values++;
      else rejected++;
      if (inputs % every === 0) options.onProgress?.(inputs);
      return true;
    }),
    {
      numRuns: options.runs,
      seed,
      endOnFailure: true,
      ...(options.timeLimitMs ? { interruptAfterTimeLimit: options.timeLimitMs, markInterruptAsFailure: false } : {}),
    },
  );
  const seconds = (performance.now() - started) / 1000;
  return {
    name: target.name,
    decoder: target.decoder,
    inputs,
    seconds,
    inputsPerSecond: Math.round(inputs / seconds),
    values,
    rejected,
    crashes: [...crashes.values()].map((crash) => ({
      ...crash,
      bytes: minimise(target, crash.bytes, crash.signature),
    })),
    slowestMs,
    rawSlowestMs,
    slowestInput,
    slowInputs,
    seed,
  };
}

const FUZZ_DIR = new URL('./', import.meta.url);

/** The names of every target: each test/fuzz/<name>.fuzz.ts file. */
export function targetNames(): string[] {
  return readdirSync(FUZZ_DIR)
    .filter((file) => file.endsWith('.fuzz.ts'))
    .map((file) => file.slice(0, -'.fuzz.ts'.length))
    .sort();
}

/** Loads one target by name. */
export async function loadTarget(name: string): Promise<FuzzTarget<unknown>> {
  const module = (await import(new URL(`./${name}.fuzz.ts`, FUZZ_DIR).href)) as { target: FuzzTarget<unknown> };
  return module.target;
}
