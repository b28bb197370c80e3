/**
 * What a porthole process made and must remove (a router mapping it keeps, a firewall table it
 * applied), recorded with its pid, so that what a killed process (SIGKILL, a crash, a power cut)
 * left behind can be found and removed later by `porthole cleanup`. One small file per thing,
 * written atomically, so two processes never rewrite each other's records.
 */

import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Mapping } from '../gateway/index.js';
import type { Transport } from '../net/index.js';
import { processAlive, readStateFile, requiredFolder } from '../system/index.js';

/**
 * A mapping asked of a router whose answer this process has not yet seen: the router may have made
 * it already (a kill between the two leaves it unknown), so it is recorded before the request is sent.
 */
export interface MappingRequestRecord {
  readonly gateway: string;
  readonly protocol: Transport;
  readonly internalPort: number;
  /** 6 for an IPv6 pinhole: it cannot be listed, only deleted by the PCP nonce it was asked with. */
  readonly family?: 6;
  readonly nonce?: string;
}

/** A thing a live process owns, as recorded. */
export type OwnedThing =
  | { readonly kind: 'mapping'; readonly mapping: Mapping }
  | { readonly kind: 'mapping-request'; readonly request: MappingRequestRecord }
  | { readonly kind: 'firewall'; readonly manifest: string; readonly table: string };

/** A record: the thing, its owner's pid and the owner's start time (so a reused pid is not taken for it). */
export type LeftoverRecord = OwnedThing & {
  readonly id: string;
  readonly pid: number;
  readonly processStart: string | null;
  readonly createdAt: string;
};

/** Where records live: porthole's state folder (src/system/folders.ts), owned/. */
export function ownedRecordDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(requiredFolder('state', env), 'owned');
}

/**
 * A process's start time in clock ticks since boot (/proc/PID/stat field 22), Linux only; with
 * the pid it names one process for good, since pids are reused.
 */
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

/** Whether the process that made a record still runs (same pid and, where known, same start time). */
export function ownerAlive(record: Pick<LeftoverRecord, 'pid' | 'processStart'>): boolean {
  if (!processAlive(record.pid)) return false;
  if (record.processStart === null) return true;
  const now = processStartTime(record.pid);
  return now === null || now === record.processStart;
}

/** Records a thing this process owns; returns the record's id for `forgetOwned`. */
export function recordOwned(thing: OwnedThing, env: NodeJS.ProcessEnv = process.env): string {
  const dir = ownedRecordDir(env);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const id = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const record: LeftoverRecord = {
    ...thing,
    id,
    pid: process.pid,
    processStart: processStartTime(process.pid),
    createdAt: new Date().toISOString(),
  };
  const temporary = join(dir, `.${id}.tmp`);
  writeFileSync(temporary, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
  renameSync(temporary, join(dir, `${id}.json`));
  return id;
}

/** Replaces a record's thing (a mapping re-made on another external port). */
export function updateOwned(id: string, thing: OwnedThing, env: NodeJS.ProcessEnv = process.env): void {
  const path = join(ownedRecordDir(env), `${id}.json`);
  const previous = JSON.parse(readFileSync(path, 'utf8')) as LeftoverRecord;
  const temporary = join(ownedRecordDir(env), `.${id}.tmp`);
  writeFileSync(temporary, `${JSON.stringify({ ...previous, ...thing }, null, 2)}\n`, { mode: 0o600 });
  renameSync(temporary, path);
}

/** Forgets a record once its thing is removed. */
export function forgetOwned(id: string, env: NodeJS.ProcessEnv = process.env): void {
  rmSync(join(ownedRecordDir(env), `${id}.json`), { force: true });
}

/** A record's shape, as recordOwned writes it. */
function isRecord(value: unknown): value is LeftoverRecord {
  const record = value as Partial<LeftoverRecord> | null;
  return (
    typeof record === 'object' &&
    record !== null &&
    typeof record.kind === 'string' &&
    typeof record.pid === 'number' &&
    typeof record.id === 'string'
  );
}

/** Every record (a half-written one is never renamed into place; a damaged one is moved aside and reported). */
export function readOwnedRecords(env: NodeJS.ProcessEnv = process.env): LeftoverRecord[] {
  let names: string[];
  try {
    names = readdirSync(ownedRecordDir(env)).filter((name) => name.endsWith('.json'));
  } catch {
    return [];
  }
  // A damaged record is moved aside and reported (src/system/stateFile.ts), never skipped silently:
  // what it names may still be on the router, for a person to remove.
  // Oldest first, whatever order the directory lists them in: what a person reads and what cleanup
  // does come in the order things were left.
  return names
    .flatMap((name) => {
      const record = readStateFile<LeftoverRecord | undefined>(join(ownedRecordDir(env), name), isRecord, undefined);
      return record ? [record] : [];
    })
    .sort((a, b) => String(a.createdAt ?? '').localeCompare(String(b.createdAt ?? '')) || a.id.localeCompare(b.id));
}

/** Records whose process is gone: what `porthole cleanup` removes. */
export function deadOwnerRecords(env: NodeJS.ProcessEnv = process.env): LeftoverRecord[] {
  return readOwnedRecords(env).filter((record) => !ownerAlive(record));
}

/** A recorded mapping this process holds, followed while it is kept. */
export interface OwnedMapping {
  readonly id: string;
  /** Follows a keeper event: a mapping re-made differently (another port, nonce or pinhole id) updates the record. */
  follow(event: { kind: string; mapping?: Mapping }): void;
  /** Forgets the record when the mapping was removed; keeps it for `porthole cleanup` otherwise. */
  done(removed: boolean): void;
}

/** What a mapping must be found and removed by: a re-made mapping with other values needs a new record. */
const identity = (m: Mapping) => JSON.stringify([m.method, m.externalPort, m.nonce ?? null, m.pinholeId ?? null]);

/**
 * Records a mapping a keeper holds for as long as this process keeps it: `follow` each keeper
 * event (a mapping re-made on another port updates the record), then `done` forgets it, unless
 * the removal failed, when the record stays for `porthole cleanup` once this process is gone.
 * With `id`, the record of the request that made the mapping becomes the mapping's.
 */
export function trackOwnedMapping(mapping: Mapping, env: NodeJS.ProcessEnv = process.env, id?: string): OwnedMapping {
  const recordId = id ?? recordOwned({ kind: 'mapping', mapping }, env);
  if (id !== undefined) updateOwned(id, { kind: 'mapping', mapping }, env);
  let current = mapping;
  return {
    id: recordId,
    follow: (event) => {
      if (!event.mapping || event.kind === 'removed') return;
      if (identity(event.mapping) !== identity(current))
        updateOwned(recordId, { kind: 'mapping', mapping: event.mapping }, env);
      current = event.mapping;
    },
    done: (removed) => {
      if (removed) forgetOwned(recordId, env);
    },
  };
}

/**
 * Records a mapping request before it is sent, so that a process killed before it sees the
 * answer still leaves a record `porthole cleanup` acts on (it removes what the router lists for
 * the internal port). `made` turns the record into the mapping's; `abandon` forgets it.
 */
export function trackMappingRequest(
  request: MappingRequestRecord,
  env: NodeJS.ProcessEnv = process.env,
): { made(mapping: Mapping): OwnedMapping; abandon(): void } {
  const id = recordOwned({ kind: 'mapping-request', request }, env);
  return {
    made: (mapping) => trackOwnedMapping(mapping, env, id),
    abandon: () => forgetOwned(id, env),
  };
}

/**
 * Asks for a mapping with its request recorded first, the one way a keeper asks: `ask` calls
 * `beforeAsking` with the request once it knows the gateway, just before the router is asked, so
 * a process killed at any moment leaves a record `porthole cleanup` acts on. A failed ask forgets
 * the record; a granted one turns it into the mapping's (one never recorded is recorded now).
 */
export async function askRecorded<T extends { readonly mapping: Mapping }>(
  ask: (beforeAsking: (request: MappingRequestRecord) => void) => Promise<T>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<T & { readonly owned: OwnedMapping }> {
  let asked: ReturnType<typeof trackMappingRequest> | undefined;
  let granted: T;
  try {
    granted = await ask((request) => {
      asked ??= trackMappingRequest(request, env);
    });
  } catch (error) {
    asked?.abandon();
    throw error;
  }
  return { ...granted, owned: asked ? asked.made(granted.mapping) : trackOwnedMapping(granted.mapping, env) };
}
