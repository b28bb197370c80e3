/** The mappings a NAT-PMP or PCP client made: those protocols cannot list, so the client remembers. */
import type { Mapping, MappingEntry } from './types.js';

/** A record of mappings, keyed by protocol and internal port. */
export interface MadeMappings {
  remember(mapping: Mapping): void;
  forget(mapping: Pick<Mapping, 'protocol' | 'internalPort'>): void;
  entries(): MappingEntry[];
}

/** A fresh record; `protocolName` goes into each entry's description. */
export function createMadeMappings(protocolName: string): MadeMappings {
  const made = new Map<string, Mapping>();
  const key = (mapping: Pick<Mapping, 'protocol' | 'internalPort'>) => `${mapping.protocol}/${mapping.internalPort}`;
  return {
    remember: (mapping) => made.set(key(mapping), mapping),
    forget: (mapping) => made.delete(key(mapping)),
    entries: () =>
      [...made.values()].map((mapping) => ({
        protocol: mapping.protocol,
        externalPort: mapping.externalPort,
        internalAddress: mapping.internalAddress,
        internalPort: mapping.internalPort,
        description: `made by this porthole (${protocolName} cannot list)`,
        lifetime: mapping.lifetime,
        enabled: true,
      })),
  };
}
