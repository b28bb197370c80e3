/**
 * Port specifications as users write them: `7001`, `7001/udp`, `554/tcp+udp`,
 * `20570-20575/tcp`, and comma lists of those. Pure parsing, no I/O.
 */
import { PortholeError } from '../errors/index.js';

/** A transport protocol porthole probes, maps and opens. */
export type Transport = 'tcp' | 'udp';

/** A contiguous, inclusive range of ports on one transport. */
export interface PortRange {
  readonly protocol: Transport;
  readonly start: number;
  readonly end: number;
}

/** One port on one transport. */
export interface PortEntry {
  readonly protocol: Transport;
  readonly port: number;
}

/** The protocol a bare port gets: the servers in our seeds are TCP first. */
const DEFAULT_PROTOCOLS: readonly Transport[] = ['tcp'];
const MIN_PORT = 1;
const MAX_PORT = 65535;
const PROTOCOL_WORDS: Record<string, readonly Transport[]> = {
  tcp: ['tcp'],
  udp: ['udp'],
  'tcp+udp': ['tcp', 'udp'],
  'udp+tcp': ['tcp', 'udp'],
  both: ['tcp', 'udp'],
};

function specError(spec: string, detail: string): PortholeError {
  return new PortholeError('E_PORT_SPEC', { detail: `${JSON.stringify(spec)}: ${detail}`, data: { spec } });
}

function parsePortNumber(text: string, whole: string): number {
  if (!/^\d+$/.test(text)) throw specError(whole, `${JSON.stringify(text)} is not a port number`);
  const port = Number(text);
  if (port < MIN_PORT || port > MAX_PORT) {
    throw specError(whole, `port ${text} is outside ${MIN_PORT}-${MAX_PORT}`);
  }
  return port;
}

/** Parses `7001` or `20570-20575` (no protocol) into inclusive bounds; `whole` names the spec in errors. */
export function parsePortRangeText(text: string, whole: string = text): { start: number; end: number } {
  const bounds = text.split('-');
  if (bounds.length > 2) throw specError(whole, `${JSON.stringify(text)} is not a port or a range`);
  const start = parsePortNumber(bounds[0] ?? '', whole);
  const end = bounds.length === 2 ? parsePortNumber(bounds[1] ?? '', whole) : start;
  if (end < start) throw specError(whole, `range ${start}-${end} is reversed (write ${end}-${start})`);
  return { start, end };
}

/** The transports a protocol word names (`tcp`, `udp`, `tcp+udp`), or undefined. */
export function transportsOf(word: string): readonly Transport[] | undefined {
  return PROTOCOL_WORDS[word.toLowerCase()];
}

/** Parses one item of a list (no commas) into one range per transport. */
function parseItem(item: string, whole: string): PortRange[] {
  const [portsText = '', protocolText, ...rest] = item.split('/');
  if (rest.length > 0) throw specError(whole, `${JSON.stringify(item)} has more than one "/"`);
  let protocols = DEFAULT_PROTOCOLS;
  if (protocolText !== undefined) {
    const known = transportsOf(protocolText);
    if (!known) {
      throw specError(whole, `unknown protocol ${JSON.stringify(protocolText)} (expected tcp, udp or tcp+udp)`);
    }
    protocols = known;
  }
  const { start, end } = parsePortRangeText(portsText, whole);
  return protocols.map((protocol) => ({ protocol, start, end }));
}

/**
 * Parses a port spec into ranges, sorted by protocol then port, with overlapping and
 * adjacent ranges merged. Throws E_PORT_SPEC naming the offending part.
 */
export function parsePortSpec(spec: string): PortRange[] {
  const trimmed = spec.trim();
  if (trimmed === '') throw specError(spec, 'no ports given');
  const ranges: PortRange[] = [];
  for (const rawItem of trimmed.split(',')) {
    const item = rawItem.trim();
    if (item === '') throw specError(spec, 'empty item in the list (two commas in a row?)');
    ranges.push(...parseItem(item, spec));
  }
  return mergeRanges(ranges);
}

/** Sorts ranges (tcp before udp, then by start) and merges overlapping or adjacent ones. */
export function mergeRanges(ranges: readonly PortRange[]): PortRange[] {
  const sorted = [...ranges].sort((a, b) =>
    a.protocol === b.protocol ? a.start - b.start || a.end - b.end : a.protocol < b.protocol ? -1 : 1,
  );
  const merged: PortRange[] = [];
  for (const range of sorted) {
    const last = merged.at(-1);
    if (last && last.protocol === range.protocol && range.start <= last.end + 1) {
      merged[merged.length - 1] = { ...last, end: Math.max(last.end, range.end) };
    } else {
      merged.push(range);
    }
  }
  return merged;
}

/** Number of (port, protocol) entries the ranges cover. */
export function countPorts(ranges: readonly PortRange[]): number {
  return ranges.reduce((sum, range) => sum + range.end - range.start + 1, 0);
}

/** Every (port, protocol) entry of the ranges, in order, lazily. */
export function* portEntries(ranges: readonly PortRange[]): Generator<PortEntry> {
  for (const range of ranges) {
    for (let port = range.start; port <= range.end; port++) yield { protocol: range.protocol, port };
  }
}

/** The canonical text of ranges: `80,443,20570-20575/tcp`-style, one group per protocol. */
export function formatPortSpec(ranges: readonly PortRange[]): string {
  return mergeRanges(ranges)
    .map((range) => {
      const ports = range.start === range.end ? `${range.start}` : `${range.start}-${range.end}`;
      return `${ports}/${range.protocol}`;
    })
    .join(',');
}
