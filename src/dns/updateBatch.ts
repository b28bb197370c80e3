/**
 * Coalescing RFC 2136 updates for the name service: while one UPDATE is in flight, the changes
 * that arrive wait and then go together in the next message. A primary applies one message as
 * one transaction (one journal write), so under load this multiplies the updates per second
 * instead of queueing one transaction per request. Each waiter learns the batch's outcome.
 */
import { sendUpdate } from './rfc2136.js';
import type { DnsServer } from './transport.js';
import type { TsigKey } from './tsig.js';
import type { UpdateChange } from './updateCodec.js';

/**
 * Changes per message: about 40 bytes each, so a full batch stays near 1 KB and one unfragmented
 * UDP datagram on any path.
 */
export const MAX_CHANGES_PER_UPDATE = 24;

interface Pending {
  readonly changes: readonly UpdateChange[];
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** Sends changes for one zone, at most one UPDATE in flight, the rest coalesced. */
export class UpdateBatcher {
  readonly #pending: Pending[] = [];
  #inFlight = false;

  constructor(
    readonly server: DnsServer,
    readonly key: TsigKey,
    readonly zone: string,
  ) {}

  /** Queues `changes` (kept together in one message) and resolves when the server applied them. */
  submit(changes: readonly UpdateChange[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#pending.push({ changes, resolve, reject });
      if (!this.#inFlight) void this.#flush();
    });
  }

  async #flush(): Promise<void> {
    this.#inFlight = true;
    while (this.#pending.length > 0) {
      const batch: Pending[] = [];
      let count = 0;
      while (this.#pending.length > 0) {
        const next = this.#pending[0] as Pending;
        if (batch.length > 0 && count + next.changes.length > MAX_CHANGES_PER_UPDATE) break;
        batch.push(next);
        count += next.changes.length;
        this.#pending.shift();
      }
      try {
        await sendUpdate(this.server, this.key, { zone: this.zone, changes: batch.flatMap((p) => p.changes) });
        for (const p of batch) p.resolve();
      } catch (error) {
        if (batch.length === 1) batch[0]?.reject(error);
        // The server applies a message all or nothing: one change it refuses (a policy that
        // allows some names only) must not sink the others, so each goes again alone.
        else for (const p of batch) await this.#sendAlone(p);
      }
    }
    this.#inFlight = false;
  }

  async #sendAlone(pending: Pending): Promise<void> {
    try {
      await sendUpdate(this.server, this.key, { zone: this.zone, changes: pending.changes });
      pending.resolve();
    } catch (error) {
      pending.reject(error);
    }
  }
}
