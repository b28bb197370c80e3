/**
 * Who listens on a port, from /proc (Linux): LISTEN TCP sockets and bound UDP sockets, the
 * address each is bound to, and the process that holds it when /proc lets us see it. The
 * parser is pure; reading is a few files. Other systems answer "unknown", never a guess.
 */
import { readdir, readFile, readlink } from 'node:fs/promises';
import { formatIp } from '../net/address.js';
import type { Transport } from '../net/portSpec.js';

/** One socket bound to the port. */
export interface PortListener {
  readonly protocol: Transport;
  readonly address: string;
  readonly port: number;
  readonly inode: number;
  /** The process holding it (name and pid), when visible. */
  readonly process?: { readonly pid: number; readonly name: string };
}

const TCP_LISTEN = '0A';
const UDP_UNCONNECTED = '07';

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

/** The sockets of one /proc/net table bound to `port` in the listening state. Pure. */
export function parseProcNet(text: string, protocol: Transport, port: number): PortListener[] {
  const wanted = protocol === 'tcp' ? TCP_LISTEN : UDP_UNCONNECTED;
  const found: PortListener[] = [];
  for (const line of text.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    const [address = '', portHex = ''] = (fields[1] ?? '').split(':');
    if (fields[3] !== wanted || Number.parseInt(portHex, 16) !== port) continue;
    found.push({ protocol, address: decodeProcAddress(address), port, inode: Number(fields[9]) });
  }
  return found;
}

/** Maps socket inodes to the processes holding them (only those /proc lets us read). */
async function socketOwners(inodes: ReadonlySet<number>): Promise<Map<number, { pid: number; name: string }>> {
  const owners = new Map<number, { pid: number; name: string }>();
  if (inodes.size === 0) return owners;
  const pids = (await readdir('/proc').catch(() => [])).filter((entry) => /^\d+$/.test(entry));
  await Promise.all(
    pids.map(async (pid) => {
      const fds = await readdir(`/proc/${pid}/fd`).catch(() => []);
      for (const fd of fds) {
        const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
        const inode = Number(/^socket:\[(\d+)\]$/.exec(target)?.[1]);
        if (inodes.has(inode) && !owners.has(inode)) {
          const name = (await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '?')).trim();
          owners.set(inode, { pid: Number(pid), name });
        }
      }
    }),
  );
  return owners;
}

/** The sockets bound to a port on this machine; undefined where /proc/net is not readable. */
export async function findListeners(protocol: Transport, port: number): Promise<PortListener[] | undefined> {
  const tables = protocol === 'tcp' ? ['/proc/net/tcp', '/proc/net/tcp6'] : ['/proc/net/udp', '/proc/net/udp6'];
  const texts = await Promise.all(tables.map((path) => readFile(path, 'utf8').catch(() => undefined)));
  if (texts.every((text) => text === undefined)) return undefined;
  const found = texts.flatMap((text) => (text === undefined ? [] : parseProcNet(text, protocol, port)));
  const owners = await socketOwners(new Set(found.map((listener) => listener.inode)));
  return found.map((listener) => {
    const owner = owners.get(listener.inode);
    return owner ? { ...listener, process: owner } : listener;
  });
}
