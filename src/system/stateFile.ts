/**
 * porthole's JSON state files (the mappings it made, the names it keeps): written atomically
 * (a temporary file, then a rename), and read so that a damaged file is never taken for an empty
 * one. A file that does not parse, or parses to the wrong shape, is moved aside as
 * `NAME.corrupt-<time>` and reported: the records `porthole cleanup` needs may be in it, and the
 * next write must not overwrite them.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** A state file found damaged and moved aside. */
export interface QuarantinedFile {
  readonly path: string;
  readonly movedTo: string;
  readonly why: string;
}

const quarantined: QuarantinedFile[] = [];

/**
 * The state files found damaged and moved aside since the last call (the CLI says so on stderr
 * after each command; a long-running page or service says it once).
 */
export function takeQuarantinedStateFiles(): QuarantinedFile[] {
  return quarantined.splice(0);
}

/** A file name's suffix that sorts by time and is safe on every file system (no colons). */
function timeSuffix(now = new Date()): string {
  return now.toISOString().replace(/[:.]/g, '-');
}

/**
 * Reads a JSON state file: `empty` when it does not exist; the parsed value when `valid` accepts
 * it; otherwise the file is moved aside, reported, and `empty` is returned.
 */
export function readStateFile<T>(path: string, valid: (value: unknown) => value is T, empty: T): T {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return empty;
    throw error;
  }
  let why: string | undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    if (valid(parsed)) return parsed;
    why = 'not the shape porthole writes';
  } catch (error) {
    why = (error as Error).message;
  }
  const movedTo = `${path}.corrupt-${timeSuffix()}`;
  renameSync(path, movedTo);
  quarantined.push({ path, movedTo, why });
  return empty;
}

/** Writes a JSON state file atomically, readable by this user only. */
export function writeStateFile(path: string, value: unknown): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  renameSync(temporary, path);
}
