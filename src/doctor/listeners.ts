/**
 * Who listens on a port, from /proc (Linux): LISTEN TCP sockets and bound UDP sockets, the
 * address each is bound to, and the process that holds it when /proc lets us see it. The
 * parser is pure; reading is a few files. Other systems answer "unknown", never a guess.
 */
import { readdir, readFile, readlink } from 'node:fs/promises';
import type { Transport } from '../net/portSpec.js';
import {
  PROC_TCP_LISTEN,
  PROC_UDP_UNCONNECTED,
  type ProcSocket,
  parseProcSockets,
  readProcSockets,
} from '../net/procNet.js';

/** One socket bound to the port. */
export interface PortListener {
  readonly protocol: Transport;
  readonly address: string;
  readonly port: number;
  readonly inode: number;
  /** The process holding it (name and pid), when visible. */
  readonly process?: { readonly pid: number; readonly name: string };
}

/** The sockets of one /proc/net table bound to `port` in the listening state. Pure. */
export function parseProcNet(text: string, protocol: Transport, port: number): PortListener[] {
  return listenersIn(parseProcSockets(text), protocol, port);
}

function listenersIn(rows: readonly ProcSocket[], protocol: Transport, port: number): PortListener[] {
  const wanted = protocol === 'tcp' ? PROC_TCP_LISTEN : PROC_UDP_UNCONNECTED;
  return rows
    .filter((row) => row.state === wanted && row.localPort === port)
    .map((row) => ({ protocol, address: row.localAddress, port, inode: row.inode }));
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
  const rows = await readProcSockets(protocol);
  if (rows === undefined) return undefined;
  const found = listenersIn(rows, protocol, port);
  const owners = await socketOwners(new Set(found.map((listener) => listener.inode)));
  return found.map((listener) => {
    const owner = owners.get(listener.inode);
    return owner ? { ...listener, process: owner } : listener;
  });
}
