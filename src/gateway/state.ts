/**
 * The mappings porthole made and left on the router (`porthole map` without --keep), so that
 * `unmap` can remove them with the right protocol (PCP needs the nonce) and `mappings` can list
 * what NAT-PMP and PCP cannot. Written atomically (temporary file and rename).
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Mapping } from './types.js';

/** A mapping with when it was made. */
export interface StoredMapping extends Mapping {
  readonly createdAt: string;
}

/** Where the state lives: $XDG_STATE_HOME/porthole/mappings.json. */
export function mappingStatePath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_STATE_HOME ?? join(homedir(), '.local', 'state'), 'porthole', 'mappings.json');
}

/** The stored mappings ([] when there is no state yet or it is unreadable). */
export function readMappingState(path: string): StoredMapping[] {
  try {
    const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
    return Array.isArray(parsed) ? (parsed as StoredMapping[]) : [];
  } catch {
    return [];
  }
}

function write(path: string, mappings: readonly StoredMapping[]): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(mappings, null, 2)}\n`, { mode: 0o600 });
  renameSync(temporary, path);
}

function sameMapping(a: Mapping, b: Mapping): boolean {
  return (
    a.gateway === b.gateway && a.protocol === b.protocol && a.externalPort === b.externalPort && a.method === b.method
  );
}

/** Records a mapping (replacing one for the same gateway, protocol and external port). */
export function recordMapping(path: string, mapping: Mapping): void {
  const others = readMappingState(path).filter((stored) => !sameMapping(stored, mapping));
  write(path, [...others, { ...mapping, createdAt: new Date().toISOString() }]);
}

/** Forgets mappings for which `matches` is true. */
export function forgetMappings(path: string, matches: (mapping: StoredMapping) => boolean): void {
  const all = readMappingState(path);
  const kept = all.filter((mapping) => !matches(mapping));
  if (kept.length !== all.length) write(path, kept);
}
