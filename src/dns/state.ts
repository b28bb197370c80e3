/**
 * What porthole remembers about the names it keeps: the last update of each record type (for
 * rate limiting and for dyndns2 names no server can be asked about), and a dyndns2 refusal that
 * stops further updates until the settings change. One JSON file, 0600, written atomically
 * (temporary file, then rename), so a crash never leaves half a file. No secret is stored: the
 * settings are recognised by a salted digest.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PortholeError } from '../errors/index.js';
import { requiredFolder } from '../system/index.js';
import type { AddressType } from './updateCodec.js';

/** The last update of one record type. */
export interface RecordState {
  readonly addresses: readonly string[];
  readonly updatedAt: string;
}

/** A refusal or back-off from a dyndns2 provider. */
export interface Dyndns2Hold {
  /** The provider's answer (badauth, nohost, abuse, badagent, !yours, 911, dnserr). */
  readonly answer: string;
  /** Digest of the settings the answer was given for; other settings are not held. */
  readonly settings: string;
  /** Until when (ISO time) for a back-off; absent for a stop that lasts until the settings change. */
  readonly until?: string;
  readonly at: string;
}

/** What is kept per name. */
export interface NameState {
  readonly records: Partial<Record<AddressType, RecordState>>;
  readonly updates: number;
  readonly hold?: Dyndns2Hold;
}

/** The whole file. */
export interface NamesFile {
  /** Random salt for settings digests (so the digest says nothing about a password elsewhere). */
  readonly salt: string;
  readonly names: Readonly<Record<string, NameState>>;
}

/** Where the state lives: DIR/names.json, by default porthole's state folder (src/system/folders.ts). */
export function nameStatePath(dataDir: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const dir = dataDir ?? requiredFolder('state', env);
  return join(dir, 'names.json');
}

/** Reads the state; a missing file is an empty state, an unreadable one E_DNS_STATE. */
export function readNameState(path: string): NamesFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { salt: randomBytes(16).toString('hex'), names: {} };
    throw new PortholeError('E_DNS_STATE', { detail: `${path}: ${(error as Error).message}`, cause: error });
  }
  let parsed: Partial<NamesFile>;
  try {
    parsed = JSON.parse(text) as Partial<NamesFile>;
  } catch (error) {
    throw new PortholeError('E_DNS_STATE', { detail: `${path}: ${(error as Error).message}`, cause: error });
  }
  if (typeof parsed.salt !== 'string' || typeof parsed.names !== 'object' || parsed.names === null)
    throw new PortholeError('E_DNS_STATE', { detail: `${path}: not a names state file` });
  return parsed as NamesFile;
}

/** Writes the state: temporary file (0600) in the same folder, then rename over the old one. */
export function writeNameState(path: string, state: NamesFile): void {
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    writeFileSync(temporary, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw new PortholeError('E_DNS_STATE', { detail: `${path}: ${(error as Error).message}`, cause: error });
  }
}

/** Reads, changes one name and writes back. */
export function updateNameState(
  path: string,
  name: string,
  change: (old: NameState, salt: string) => NameState,
): NameState {
  const state = readNameState(path);
  const next = change(state.names[name] ?? { records: {}, updates: 0 }, state.salt);
  writeNameState(path, { ...state, names: { ...state.names, [name]: next } });
  return next;
}

/** A salted digest of the settings a refusal applies to (URL, user and password). */
export function settingsDigest(salt: string, parts: readonly string[]): string {
  const hash = createHash('sha256').update(salt);
  for (const part of parts) hash.update(`\0${part}`);
  return hash.digest('hex');
}
