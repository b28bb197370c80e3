/**
 * Sockets on macOS from `lsof -F` (lsof's field output for programs: one field a line, its
 * first character naming it) and program files from `ps -o pid=,comm=`. Pure.
 *
 * Fields read (lsof(8), OUTPUT FOR OTHER PROGRAMS): `p` starts a process (its PID), `c` its
 * command, `f` starts a file (a socket here), `t` its type (IPv4, IPv6), `P` its protocol (TCP,
 * UDP), `n` its name (`*:5655`, `127.0.0.1:5655`, `[::1]:5655`, `a:1->b:2` for a connection),
 * `T` TCP details (`TST=LISTEN`). lsof always adds `p` and `f`; other fields are ignored.
 *
 * `c` is the command name truncated by the kernel (MAXCOMLEN, 16 characters), so the program
 * file comes from `ps -o comm=`, which on macOS prints the executable's full path.
 */
import type { Transport } from '../../net/index.js';
import type { HostConnection } from '../types.js';

/** One socket as lsof lists it. */
export interface LsofSocket {
  readonly pid: number;
  readonly command: string;
  readonly protocol: Transport | undefined;
  readonly family: 'IPv4' | 'IPv6' | undefined;
  /** Local address and port. */
  readonly local: { readonly address: string; readonly port: number } | undefined;
  /** Remote end, for a connection. */
  readonly remote: { readonly address: string; readonly port: number } | undefined;
  readonly state: string | undefined;
}

/** `host:port`, `*:port` or `[v6]:port` → address and port; undefined when it is not one. */
export function parseEndpoint(
  text: string,
  family?: LsofSocket['family'],
): { address: string; port: number } | undefined {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d+|\*)$/.exec(text.trim());
  if (!match) return undefined;
  const port = match[3] === '*' ? 0 : Number(match[3]);
  let address = match[1] ?? match[2] ?? '';
  // lsof writes a wildcard bind as `*`; which wildcard depends on the socket's family.
  if (address === '*') address = family === 'IPv6' ? '::' : '0.0.0.0';
  return port >= 0 && port < 65536 ? { address, port } : undefined;
}

interface OpenFile {
  protocol?: Transport | undefined;
  family?: LsofSocket['family'];
  name?: string;
  state?: string;
}

/** `lsof -F` output → sockets; lines it does not understand are counted, not fatal. */
export function parseLsofFields(text: string): { sockets: LsofSocket[]; skipped: number } {
  const sockets: LsofSocket[] = [];
  let skipped = 0;
  let pid: number | undefined;
  let command = '';
  let file: OpenFile | undefined;
  const flush = () => {
    if (file?.name !== undefined && pid !== undefined) {
      const [localText, remoteText] = file.name.split('->');
      sockets.push({
        pid,
        command,
        protocol: file.protocol,
        family: file.family,
        local: localText === undefined ? undefined : parseEndpoint(localText, file.family),
        remote: remoteText === undefined ? undefined : parseEndpoint(remoteText, file.family),
        state: file.state,
      });
    }
    file = undefined;
  };
  // -F0 ends fields with NUL instead of a newline; both are read.
  for (const raw of text.replace(/^\uFEFF/, '').split(/[\n\0]/)) {
    const line = raw.replace(/\r$/, '');
    if (line === '') continue;
    const field = line[0];
    const value = line.slice(1);
    switch (field) {
      case 'p': {
        flush();
        const parsed = Number(value);
        pid = Number.isInteger(parsed) && parsed > 0 ? parsed : undefined;
        command = '';
        if (pid === undefined) skipped++;
        break;
      }
      case 'c':
        command = value;
        break;
      case 'f':
        flush();
        file = {};
        break;
      case 't':
        file ??= {};
        file.family = value === 'IPv6' ? 'IPv6' : value === 'IPv4' ? 'IPv4' : file.family;
        break;
      case 'P':
        file ??= {};
        file.protocol = value === 'TCP' ? 'tcp' : value === 'UDP' ? 'udp' : undefined;
        break;
      case 'n':
        // A second name without an `f` between them is a second file (lsof without `f` fields).
        if (file?.name !== undefined) flush();
        file ??= {};
        file.name = value;
        break;
      case 'T':
        if (value.startsWith('ST=')) {
          file ??= {};
          file.state = value.slice(3);
        }
        break;
      default:
        // Known fields porthole does not need (u, g, R, a, l, d, D, s, i, k, L, o, z, Z, S, ...).
        if (!/^[A-Za-z]/.test(line)) skipped++;
    }
  }
  flush();
  return { sockets, skipped };
}

/** TCP sockets in LISTEN and bound UDP sockets (not connected ones) on `port`. */
export function listeningOn(sockets: readonly LsofSocket[], protocol: Transport, port: number): LsofSocket[] {
  return sockets.filter(
    (socket) =>
      socket.protocol === protocol &&
      socket.local?.port === port &&
      socket.remote === undefined &&
      (protocol === 'udp' || socket.state === undefined || socket.state === 'LISTEN'),
  );
}

/** Established TCP connections whose local port is one of `ports`. */
export function connectionsOn(sockets: readonly LsofSocket[], ports: readonly number[]): HostConnection[] {
  const wanted = new Set(ports);
  return sockets.flatMap((socket): HostConnection[] =>
    socket.local && socket.remote && wanted.has(socket.local.port)
      ? [
          {
            localAddress: socket.local.address,
            localPort: socket.local.port,
            remoteAddress: socket.remote.address,
            remotePort: socket.remote.port,
          },
        ]
      : [],
  );
}

/** `ps -o pid=,comm= -p PIDS` → PID to program file (paths may hold spaces: all after the PID). */
export function parsePsCommands(text: string): Map<number, string> {
  const programs = new Map<number, string>();
  for (const line of text.split(/\r?\n/)) {
    const match = /^\s*(\d+)\s+(.+?)\s*$/.exec(line);
    if (match) programs.set(Number(match[1]), match[2] as string);
  }
  return programs;
}
