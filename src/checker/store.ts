/** The record of checks, in SQLite (WAL), with retention. */
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { PortholeError } from '../errors/index.js';
import type { ProbeResult } from '../probe/index.js';

const require = createRequire(import.meta.url);

/**
 * better-sqlite3, loaded when a store opens: it is an optional dependency (a native module that
 * needs a compiler where no prebuilt binary fits), so a machine without it still installs and runs
 * every client command; only `porthole serve` needs it.
 */
function sqlite(): typeof BetterSqlite3 {
  try {
    return require('better-sqlite3') as typeof BetterSqlite3;
  } catch (error) {
    throw new PortholeError('E_NOT_AVAILABLE', {
      detail: 'the check service records checks in SQLite, and better-sqlite3 is not installed here',
      hint: 'Install it beside porthole (`npm install -g better-sqlite3`, which needs a compiler where no prebuilt binary fits), or run the check service on a machine that has it. Client commands do not need it.',
      cause: error,
    });
  }
}

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
  const Database = sqlite();
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
