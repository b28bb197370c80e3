/**
 * Per-tenant bandwidth caps: one token bucket per tenant and direction, shared by all of the
 * tenant's connections, and a Transform that holds each chunk until the bucket can pay for it,
 * so backpressure reaches the sender instead of memory filling up.
 */
import { Transform, type TransformCallback } from 'node:stream';

/** A token bucket of bytes: `rate` per second, bursts up to one second's worth. */
export class ByteBucket {
  readonly rate: number;
  #tokens: number;
  #last: number;

  constructor(bytesPerSecond: number, now: () => number = () => performance.now()) {
    this.rate = bytesPerSecond;
    this.#tokens = bytesPerSecond;
    this.#last = now();
    this.now = now;
  }

  private readonly now: () => number;

  /** Takes `bytes` (the balance may go negative); returns how many ms to wait before sending them. */
  take(bytes: number): number {
    const now = this.now();
    this.#tokens = Math.min(this.rate, this.#tokens + ((now - this.#last) / 1000) * this.rate);
    this.#last = now;
    this.#tokens -= bytes;
    return this.#tokens >= 0 ? 0 : (-this.#tokens / this.rate) * 1000;
  }
}

/** A pass-through stream that paces chunks by `bucket`. */
export function createThrottle(bucket: ByteBucket): Transform {
  let timer: NodeJS.Timeout | undefined;
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      const wait = bucket.take(chunk.length);
      if (wait <= 0) {
        callback(null, chunk);
        return;
      }
      timer = setTimeout(() => callback(null, chunk), wait);
    },
    destroy(error, callback) {
      clearTimeout(timer);
      callback(error);
    },
  });
}
