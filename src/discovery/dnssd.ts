/**
 * DNS-SD (RFC 6763) from mDNS records, pure: service types (meta-query PTRs) → instances
 * (PTR) → SRV and TXT → the host's A and AAAA. Given what has been heard, it says which
 * instances are complete and which questions would complete the rest.
 */
import { type MdnsQuestion, type MdnsRecord, SERVICES_META } from './mdnsCodec.js';

/** A resolved DNS-SD service instance on one address. */
export interface ServiceInstance {
  /** `Media server._http._tcp.local`. */
  readonly fullName: string;
  /** `Media server`. */
  readonly name: string;
  /** `_http._tcp`. */
  readonly type: string;
  readonly host: string;
  readonly port: number;
  readonly address: string;
  readonly txt: readonly string[];
}

/** Everything heard so far, by name (names compare case-insensitively, RFC 6762 16). */
export class DnsSdRecords {
  /**
   * By type and name, then by the record without its TTL: a datagram of 500 records for one name
   * (a hostile device's) is 500 map updates, not 500 × 500 comparisons (140 ms, found by fuzzing).
   */
  readonly #records = new Map<string, Map<string, MdnsRecord>>();

  /** Adds records, ignoring exact repeats; goodbyes (TTL 0) remove what they name. */
  add(records: readonly MdnsRecord[]): void {
    for (const record of records) {
      const key = `${record.type} ${record.name.toLowerCase()}`;
      const known = this.#records.get(key) ?? new Map<string, MdnsRecord>();
      const same = JSON.stringify({ ...record, ttl: 0 });
      // A repeat moves to the end, as the newest word on that record.
      known.delete(same);
      if (record.ttl !== 0) known.set(same, record);
      this.#records.set(key, known);
    }
  }

  /** The records of one type and name. */
  get<T extends MdnsRecord['type']>(type: T, name: string): (MdnsRecord & { type: T })[] {
    return [...(this.#records.get(`${type} ${name.toLowerCase()}`)?.values() ?? [])] as (MdnsRecord & { type: T })[];
  }
}

/** `_http._tcp.local` → `_http._tcp`; undefined for a name that is not a service type. */
export function serviceTypeOf(name: string): string | undefined {
  const match = /^(_[^.]+\._(?:tcp|udp))\.local\.?$/i.exec(name);
  return match?.[1];
}

/** The instance label of `Name._type._tcp.local` (dots inside the label are kept). */
function instanceLabel(fullName: string, type: string): string {
  return fullName.slice(0, fullName.length - `.${type}.local`.length);
}

/**
 * What is complete and what is missing, for the types asked (`types` empty: every type the
 * meta-query turned up). Pure.
 */
export function resolveServices(
  heard: DnsSdRecords,
  types: readonly string[],
): { instances: ServiceInstance[]; missing: MdnsQuestion[] } {
  const wanted =
    types.length > 0
      ? types
      : heard
          .get('PTR', SERVICES_META)
          .map((ptr) => serviceTypeOf(ptr.target))
          .filter((t): t is string => t !== undefined);
  const instances: ServiceInstance[] = [];
  const missing: MdnsQuestion[] = [];
  for (const type of new Set(wanted)) {
    const ptrs = heard.get('PTR', `${type}.local`);
    if (ptrs.length === 0) missing.push({ name: `${type}.local`, type: 'PTR' });
    for (const ptr of ptrs) {
      const [srv] = heard.get('SRV', ptr.target);
      if (!srv) {
        missing.push({ name: ptr.target, type: 'SRV' }, { name: ptr.target, type: 'TXT' });
        continue;
      }
      const txt = heard.get('TXT', ptr.target)[0]?.strings ?? [];
      const addresses = [...heard.get('A', srv.target), ...heard.get('AAAA', srv.target)];
      if (addresses.length === 0) missing.push({ name: srv.target, type: 'A' }, { name: srv.target, type: 'AAAA' });
      for (const a of addresses) {
        instances.push({
          fullName: ptr.target,
          name: instanceLabel(ptr.target, type),
          type,
          host: srv.target,
          port: srv.port,
          address: a.address,
          txt,
        });
      }
    }
  }
  return { instances, missing };
}
