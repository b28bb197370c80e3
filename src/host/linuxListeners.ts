/**
 * Who listens on a port on Linux, from /proc: LISTEN TCP sockets and bound UDP sockets, the
 * address each is bound to, and the process that holds it (name, and program file where
 * /proc/PID/exe is readable) when /proc lets us see it. The parser is pure; reading is a few files.
 */
import { readdir, readFile, readlink } from 'node:fs/promises';
import type { Transport } from '../net/index.js';
import {
  PROC_TCP_LISTEN,
  PROC_UDP_UNCONNECTED,
  type ProcSocket,
  parseProcSockets,
  readProcSockets,
} from './linuxProcNet.js';
import type { HostProcess, PortListener } from './types.js';

/** One socket bound to the port, with its inode (how /proc names the socket a process holds). */
export interface ProcListener extends PortListener {
  readonly inode: number;
}

/** The sockets of one /proc/net table bound to `port` in the listening state. Pure. */
export function parseProcNet(text: string, protocol: Transport, port: number): ProcListener[] {
  return listenersIn(parseProcSockets(text), protocol, port);
}

function listenersIn(rows: readonly ProcSocket[], protocol: Transport, port: number): ProcListener[] {
  const wanted = protocol === 'tcp' ? PROC_TCP_LISTEN : PROC_UDP_UNCONNECTED;
  return rows
    .filter((row) => row.state === wanted && row.localPort === port)
    .map((row) => ({ protocol, address: row.localAddress, port, inode: row.inode }));
}

/** Maps socket inodes to the processes holding them (only those /proc lets us read). */
async function socketOwners(inodes: ReadonlySet<number>): Promise<Map<number, HostProcess>> {
  const owners = new Map<number, HostProcess>();
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
          const path = await readlink(`/proc/${pid}/exe`).catch(() => undefined);
          owners.set(inode, { pid: Number(pid), name, ...(path ? { path } : {}) });
        }
      }
    }),
  );
  return owners;
}

/** The sockets bound to a port on this machine; undefined where /proc/net is not readable. */
export async function findListeners(protocol: Transport, port: number): Promise<ProcListener[] | undefined> {
  const rows = await readProcSockets(protocol);
  if (rows === undefined) return undefined;
  const found = listenersIn(rows, protocol, port);
  const owners = await socketOwners(new Set(found.map((listener) => listener.inode)));
  return found.map((listener) => {
    const owner = owners.get(listener.inode);
    return owner ? { ...listener, process: owner } : listener;
  });
}
