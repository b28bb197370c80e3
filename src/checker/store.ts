/** The record of checks, in SQLite (WAL), with retention. */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { ProbeResult } from '../probe/index.js';

/** One check as recorded. */
export interface CheckRecord {
  readonly at: Date;
  readonly caller: string;
  readonly target: string;
  readonly proof: boolean;
  readonly results: readonly ProbeResult[];
}

/** The store's operations. */
export interface CheckStore {
  record(check: CheckRecord): void;
  /** Deletes checks older than the retention; returns how many rows went. */
  prune(now?: Date): number;
  /** The most recent rows, newest first (for tests and operators). */
  recent(limit: number): {
    at: string;
    caller: string;
    target: string;
    port: number;
    protocol: string;
    state: string;
    verified: number | null;
  }[];
  close(): void;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS checks (
  id INTEGER PRIMARY KEY,
  at TEXT NOT NULL,
  caller TEXT NOT NULL,
  target TEXT NOT NULL,
  proof INTEGER NOT NULL,
  port INTEGER NOT NULL,
  protocol TEXT NOT NULL,
  state TEXT NOT NULL,
  verified INTEGER,
  reason TEXT NOT NULL,
  ms REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS checks_at ON checks (at);
`;

/** Opens (creating if needed) the store in `dir`. */
export function openCheckStore(dir: string, retentionDays: number): CheckStore {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const db = new Database(join(dir, 'checks.sqlite'));
  db.pragma('journal_mode = WAL');
  // WAL with NORMAL sync: a power cut may lose the last checks, never corrupt the file.
  db.pragma('synchronous = NORMAL');
  db.exec(SCHEMA);
  const insert = db.prepare(
    'INSERT INTO checks (at, caller, target, proof, port, protocol, state, verified, reason, ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const insertAll = db.transaction((check: CheckRecord) => {
    const at = check.at.toISOString();
    for (const result of check.results) {
      const verified = result.verified === null ? null : result.verified ? 1 : 0;
      insert.run(
        at,
        check.caller,
        check.target,
        check.proof ? 1 : 0,
        result.port,
        result.protocol,
        result.state,
        verified,
        result.reason,
        result.ms,
      );
    }
  });
  const prune = db.prepare('DELETE FROM checks WHERE at < ?');
  const recent = db.prepare(
    'SELECT at, caller, target, port, protocol, state, verified FROM checks ORDER BY id DESC LIMIT ?',
  );
  return {
    record: (check) => insertAll(check),
    prune: (now = new Date()) => prune.run(new Date(now.getTime() - retentionDays * 86_400_000).toISOString()).changes,
    recent: (limit) => recent.all(limit) as ReturnType<CheckStore['recent']>,
    close: () => db.close(),
  };
}
