/**
 * Linux's socket tables, /proc/net/{tcp,tcp6,udp,udp6}: the pure parsers, and one reader. Both the
 * doctor (who listens on a port) and the identity proof (did the checker's connection arrive at
 * this host) read them; neither needs root. Other systems have no such files: readers answer
 * undefined there, never a guess.
 */
import { readFile } from 'node:fs/promises';
import { formatIp, type Transport } from '../net/index.js';

/** One row of a /proc/net socket table. */
export interface ProcSocket {
  readonly localAddress: string;
  readonly localPort: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** The kernel's state number in hex as the table prints it: `0A` is LISTEN, `01` ESTABLISHED. */
  readonly state: string;
  readonly inode: number;
}

/** TCP LISTEN, and the state of a UDP socket that is bound but not connected. */
export const PROC_TCP_LISTEN = '0A';
export const PROC_UDP_UNCONNECTED = '07';

/** Decodes /proc/net's little-endian hex addresses (`0100007F` is 127.0.0.1). Pure. */
export function decodeProcAddress(hex: string): string {
  if (hex.length === 8) {
    return [3, 2, 1, 0].map((i) => Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16)).join('.');
  }
  // IPv6: four 32-bit words, each little-endian.
  const bytes: number[] = [];
  for (let word = 0; word < 4; word++) {
    const chunk = hex.slice(word * 8, word * 8 + 8);
    for (let i = 3; i >= 0; i--) bytes.push(Number.parseInt(chunk.slice(i * 2, i * 2 + 2), 16));
  }
  return formatIp({ family: 6, bytes: Uint8Array.from(bytes) });
}

/** Every row of one /proc/net socket table (the header line skipped, malformed rows ignored). Pure. */
export function parseProcSockets(text: string): ProcSocket[] {
  const rows: ProcSocket[] = [];
  for (const line of text.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    const [localHex = '', localPortHex = ''] = (fields[1] ?? '').split(':');
    const [remoteHex = '', remotePortHex = ''] = (fields[2] ?? '').split(':');
    if (!localHex || !remoteHex || fields[3] === undefined) continue;
    rows.push({
      localAddress: decodeProcAddress(localHex),
      localPort: Number.parseInt(localPortHex, 16),
      remoteAddress: decodeProcAddress(remoteHex),
      remotePort: Number.parseInt(remotePortHex, 16),
      state: fields[3],
      inode: Number(fields[9]),
    });
  }
  return rows;
}

/** The rows of this network namespace's tables for one transport; undefined where /proc/net is not readable. */
export async function readProcSockets(protocol: Transport): Promise<ProcSocket[] | undefined> {
  const tables = protocol === 'tcp' ? ['/proc/net/tcp', '/proc/net/tcp6'] : ['/proc/net/udp', '/proc/net/udp6'];
  const texts = await Promise.all(tables.map((path) => readFile(path, 'utf8').catch(() => undefined)));
  if (texts.every((text) => text === undefined)) return undefined;
  return texts.flatMap((text) => (text === undefined ? [] : parseProcSockets(text)));
}
