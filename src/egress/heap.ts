/**
 * A full garbage collection on request. A sweep of 65535 ports creates 130 000 sockets that
 * live about a deadline each: long enough to be promoted, so V8 lets the old generation grow
 * to several hundred MB before it collects. Collecting every few thousand verdicts keeps the
 * peak near the live set (about 50 MB) for some 50 ms of work per 4096 attempts.
 * `--expose-gc` set at run time gives a `gc` function only to contexts created afterwards,
 * hence the fresh context; where that is refused, nothing is collected early.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let collect: (() => void) | null | undefined;

/** Runs a full collection when the runtime allows one; otherwise does nothing. */
export function collectGarbage(): void {
  if (collect === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      const gc = runInNewContext('gc') as unknown;
      collect = typeof gc === 'function' ? (gc as () => void) : null;
    } catch {
      collect = null;
    }
  }
  collect?.();
}
