/**
 * The mappings porthole made and left on the router (`porthole map` without --keep), so that
 * `unmap` can remove them with the right protocol (PCP needs the nonce) and `mappings` can list
 * what NAT-PMP and PCP cannot. Written atomically (temporary file and rename).
 */
import { join } from 'node:path';
import { readStateFile, requiredFolder, writeStateFile } from '../system/index.js';
import type { Mapping } from './types.js';

/** A mapping with when it was made. */
export interface StoredMapping extends Mapping {
  readonly createdAt: string;
}

/** Where the state lives: porthole's state folder (src/system/folders.ts), mappings.json. */
export function mappingStatePath(env: NodeJS.ProcessEnv = process.env): string {
  return join(requiredFolder('state', env), 'mappings.json');
}

/** A list of records, each with the fields a removal needs. */
function isMappingList(value: unknown): value is StoredMapping[] {
  return (
    Array.isArray(value) &&
    value.every(
      (item) =>
        typeof item === 'object' &&
        item !== null &&
        typeof (item as StoredMapping).gateway === 'string' &&
        typeof (item as StoredMapping).externalPort === 'number' &&
        typeof (item as StoredMapping).method === 'string',
    )
  );
}

/**
 * The stored mappings ([] when there is no state yet). A damaged file is moved aside and
 * reported, never read as empty and then overwritten (src/system/stateFile.ts).
 */
export function readMappingState(path: string): StoredMapping[] {
  return readStateFile(path, isMappingList, []);
}

function write(path: string, mappings: readonly StoredMapping[]): void {
  writeStateFile(path, mappings);
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
