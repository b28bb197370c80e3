/**
 * Sockets on Windows in the host interface's words: the listeners on one port with their
 * program, and the connections of the identity proof (`Get-NetTCPConnection` output). Pure.
 */
import type { HostConnection, PortListener, PortQuestion } from '../types.js';
import { psInteger, psObjects, psText } from './psValues.js';
import type { WindowsSnapshot } from './types.js';

/** The sockets bound to the port, each with its process; undefined when the sockets were not read. */
export function windowsListeners(snapshot: WindowsSnapshot, question: PortQuestion): PortListener[] | undefined {
  if (!snapshot.sockets) return undefined;
  const processes = new Map(snapshot.processes.map((process) => [process.pid, process]));
  return snapshot.sockets
    .filter((socket) => socket.protocol === question.protocol && socket.port === question.port)
    .map((socket) => {
      const process = processes.get(socket.pid);
      return {
        protocol: socket.protocol,
        address: socket.address,
        port: socket.port,
        // System (pid 4) owns HTTP.sys listeners (IIS, URL ACLs): named even without a process row.
        process: process
          ? { pid: process.pid, name: process.name, ...(process.path ? { path: process.path } : {}) }
          : { pid: socket.pid, name: socket.pid === 4 ? 'System' : '?' },
      };
    });
}

/** `Get-NetTCPConnection | Select-Object Local*, Remote* | ConvertTo-Json` → connections. Pure. */
export function parseWindowsConnections(text: string): HostConnection[] {
  const clean = text.replace(/^\uFEFF/, '').trim();
  if (clean === '') return [];
  return psObjects(JSON.parse(clean)).flatMap((row): HostConnection[] => {
    const localAddress = psText(row.LocalAddress);
    const remoteAddress = psText(row.RemoteAddress);
    const localPort = psInteger(row.LocalPort);
    const remotePort = psInteger(row.RemotePort);
    return localAddress !== undefined &&
      remoteAddress !== undefined &&
      localPort !== undefined &&
      remotePort !== undefined
      ? [{ localAddress, localPort, remoteAddress, remotePort }]
      : [];
  });
}
