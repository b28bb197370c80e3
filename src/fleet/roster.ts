/**
 * The vantages a front knows, from their heartbeats: which regions to fan out to for
 * `?vantage=all`, and what to call a region that stays silent. Pure state, no sockets.
 */

import type { GatherTarget } from './gather.js';
import { regionOrderSubject, vantageOrderSubject } from './subjects.js';
import type { VantageHeartbeat } from './types.js';

/** A vantage missing this long is dropped from `all` (until it reports again). */
export const FORGET_AFTER_MS = 10 * 60_000;

/** One known vantage. */
export interface RosterEntry {
  readonly heartbeat: VantageHeartbeat;
  /** When this front last heard it (its own clock). */
  readonly seenAt: number;
  /** Three heartbeats missed. */
  readonly stale: boolean;
}

/** The fleet as one front sees it. */
export class Roster {
  readonly #entries = new Map<string, { heartbeat: VantageHeartbeat; seenAt: number }>();

  /** Records a heartbeat. */
  heard(heartbeat: VantageHeartbeat, now = Date.now()): void {
    this.#entries.set(heartbeat.name, { heartbeat, seenAt: now });
  }

  /** Known vantages, by name. */
  entries(now = Date.now()): RosterEntry[] {
    const list: RosterEntry[] = [];
    for (const [name, entry] of this.#entries) {
      if (now - entry.seenAt > FORGET_AFTER_MS) {
        this.#entries.delete(name);
        continue;
      }
      list.push({ ...entry, stale: now - entry.seenAt > 3 * entry.heartbeat.intervalMs });
    }
    return list.sort((a, b) => a.heartbeat.name.localeCompare(b.heartbeat.name));
  }

  /**
   * Where orders go for a selector: `all` → every known region; otherwise each item is a
   * known vantage's name (just that vantage) or a region (any vantage of it, even one this
   * front has not heard yet).
   */
  targets(selector: 'all' | readonly string[], now = Date.now()): GatherTarget[] {
    const entries = this.entries(now);
    const regionTarget = (region: string): GatherTarget => {
      const members = entries.filter((entry) => entry.heartbeat.region === region);
      const name = members.length === 1 ? (members[0] as RosterEntry).heartbeat.name : region;
      return { subject: regionOrderSubject(region), name, region };
    };
    if (selector === 'all') {
      return [...new Set(entries.map((entry) => entry.heartbeat.region))].sort().map(regionTarget);
    }
    return [...new Set(selector)].map((item) => {
      const byName = entries.find((entry) => entry.heartbeat.name === item);
      if (byName && byName.heartbeat.region !== item) {
        return { subject: vantageOrderSubject(item), name: item, region: byName.heartbeat.region };
      }
      return regionTarget(item);
    });
  }
}
