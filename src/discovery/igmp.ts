/**
 * Multicast memberships from the kernel, pure: /proc/net/igmp (IPv4) and /proc/net/igmp6 (IPv6)
 * say which groups some socket has joined on which interface. The IPv4 file prints each group
 * as the hex of its 32-bit value in host byte order (224.0.0.251 is `FB0000E0` on x86 and ARM).
 */
import { endianness } from 'node:os';

/** One group joined on one interface. */
export interface Membership {
  readonly interface: string;
  readonly group: string;
  /** How many sockets hold it (the kernel's Users column). */
  readonly users: number;
}

/** Parses /proc/net/igmp. `littleEndian` is this host's byte order (the file's). */
export function parseProcNetIgmp(text: string, littleEndian = endianness() === 'LE'): Membership[] {
  const memberships: Membership[] = [];
  let device: string | undefined;
  for (const line of text.split('\n').slice(1)) {
    const header = /^\d+\s+(\S+)\s*:/.exec(line);
    if (header) {
      device = header[1];
      continue;
    }
    const group = /^\s+([0-9A-Fa-f]{8})\s+(\d+)/.exec(line);
    if (!group || !device || !group[1]) continue;
    const bytes = (group[1].match(/../g) ?? []).map((pair) => Number.parseInt(pair, 16));
    if (littleEndian) bytes.reverse();
    memberships.push({ interface: device, group: bytes.join('.'), users: Number(group[2]) });
  }
  return memberships;
}

/** Parses /proc/net/igmp6: index, device, group (32 hex digits), users, flags, timer. */
export function parseProcNetIgmp6(text: string): Membership[] {
  const memberships: Membership[] = [];
  for (const line of text.split('\n')) {
    const fields = /^\s*\d+\s+(\S+)\s+([0-9a-fA-F]{32})\s+(\d+)/.exec(line);
    if (!fields?.[1] || !fields[2]) continue;
    const groups = (fields[2].match(/..../g) ?? []).map((word) => Number.parseInt(word, 16).toString(16));
    memberships.push({ interface: fields[1], group: compressIpv6(groups), users: Number(fields[3]) });
  }
  return memberships;
}

/** RFC 5952 text for eight hex words (longest run of two or more zero words as ::). */
function compressIpv6(words: readonly string[]): string {
  let best = { start: -1, length: 0 };
  for (let i = 0; i < words.length; ) {
    if (words[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < words.length && words[j] === '0') j++;
    if (j - i > best.length && j - i > 1) best = { start: i, length: j - i };
    i = j;
  }
  if (best.start < 0) return words.join(':');
  return `${words.slice(0, best.start).join(':')}::${words.slice(best.start + best.length).join(':')}`;
}
