/**
 * What a run says while it works, for the terminal (a progress line, status lines while kept)
 * and the local page (each hop as it is checked). One union: every event has a `kind`.
 */
import type { Change, Finding, StepEvent } from '../doctor/index.js';
import type { KeeperEvent } from '../gateway/index.js';

/** The roads of expose (library/roads). */
export type RoadName = 'direct' | 'ipv6' | 'relay' | 'double-nat';

/** A road of expose was tried, taken, or left. */
export interface RoadEvent {
  readonly kind: 'road';
  readonly road: RoadName;
  readonly state: 'trying' | 'not-usable' | 'opened' | 'left' | 'taken' | 'failed';
  /** Why it was not usable, left, or failed. */
  readonly because?: string;
}

/**
 * The status of what expose or map keeps, said as it happens (one JSON line each with --json):
 * the keeper's events (the public address moving among them: `address-changed`), each
 * re-verification from outside, the relay's connection.
 */
export type KeepStatus =
  | KeeperEvent
  | {
      readonly kind: 'verified';
      readonly reachable: boolean;
      readonly publicAddress: string | null;
      /** The addresses to give users, when reachable (said at once, not after Ctrl-C). */
      readonly give?: readonly string[];
      readonly failing?: readonly string[];
      readonly family?: 4 | 6;
    }
  | {
      readonly kind: 'relay';
      readonly reachable: boolean;
      readonly because: string;
      readonly give: readonly string[];
    }
  | { readonly kind: 'relay-connected'; readonly publicAddress: string }
  | { readonly kind: 'name'; readonly name: string; readonly updates: number; readonly error?: string }
  | {
      readonly kind: 'relay-disconnected';
      readonly publicAddress: string;
      readonly reason: string;
      readonly retryInMs: number;
    };

/** Everything a run says while it works. */
export type ProgressEvent =
  | StepEvent
  | { readonly kind: 'finding'; readonly finding: Finding }
  | { readonly kind: 'change'; readonly change: Change }
  | RoadEvent
  | (KeepStatus & { readonly family?: 4 | 6 });

const NOT_STATUS = new Set(['step', 'finding', 'change', 'road']);

/** Whether an event is the status of something kept (what `--keep --json` prints as a line). */
export function isKeepStatus(event: ProgressEvent): event is KeepStatus {
  return !NOT_STATUS.has(event.kind);
}
