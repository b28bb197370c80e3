/**
 * porthole's proof listeners: answer checker probes on TCP and UDP ports, with a proof under
 * our key (so the checker can say the port reaches this machine). Used by `porthole check
 * --listen`; a vendor's server can run one beside its own ports too.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import type { PortEntry } from '../net/index.js';
import { bindError } from '../net/index.js';
import { decodeTcpProbe, decodeUdpProbe, encodeTcpProof, encodeUdpProof, MAX_TCP_LINE } from './proofCodec.js';

/** A connection that sends nothing is dropped after this long. */
const IDLE_MS = 5000;

/** Running listeners. */
export interface ProofListeners {
  /** Where each listener is bound. */
  readonly bound: readonly { protocol: 'tcp' | 'udp'; port: number; address: string }[];
  /** How many probes were answered, by protocol. */
  readonly answered: { tcp: number; udp: number };
  close(): Promise<void>;
}

function answerTcp(socket: Socket, key: Uint8Array | undefined, counters: { tcp: number }): void {
  let buffered = '';
  socket.setTimeout(IDLE_MS, () => socket.destroy());
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk) => {
    buffered += chunk.toString('latin1');
    const end = buffered.indexOf('\n');
    if (end < 0) {
      if (buffered.length > MAX_TCP_LINE) socket.destroy();
      return;
    }
    const nonce = decodeTcpProbe(buffered.slice(0, end + 1));
    if (nonce) {
      counters.tcp++;
      socket.end(encodeTcpProof(key, nonce));
    } else socket.destroy();
  });
}

function listenTcp(
  port: number,
  host: string,
  key: Uint8Array | undefined,
  counters: { tcp: number },
): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => answerTcp(socket, key, counters));
    server.once('error', reject);
    server.listen({ port, host, ipv6Only: false }, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

function listenUdp(
  port: number,
  host: string,
  key: Uint8Array | undefined,
  counters: { udp: number },
): Promise<UdpSocket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', ipv6Only: false });
    socket.once('error', reject);
    socket.on('message', (message, remote) => {
      const nonce = decodeUdpProbe(message);
      if (!nonce) return; // Not a probe, or too small to answer without amplifying.
      counters.udp++;
      socket.send(encodeUdpProof(key, nonce), remote.port, remote.address);
    });
    socket.bind(port, host, () => {
      socket.off('error', reject);
      socket.on('error', () => {});
      resolve(socket);
    });
  });
}

/** Binds a listener per entry on every address (IPv6 and IPv4 when the host has IPv6). Nothing stays bound on failure. */
export async function startProofListeners(
  entries: readonly PortEntry[],
  key: Uint8Array | undefined,
): Promise<ProofListeners> {
  const servers: Server[] = [];
  const sockets: UdpSocket[] = [];
  const bound: { protocol: 'tcp' | 'udp'; port: number; address: string }[] = [];
  const answered = { tcp: 0, udp: 0 };
  const close = async () => {
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
    for (const socket of sockets) socket.close();
  };
  try {
    for (const entry of entries) {
      let address = '::';
      const start = async (host: string) =>
        entry.protocol === 'tcp'
          ? servers.push(await listenTcp(entry.port, host, key, answered))
          : sockets.push(await listenUdp(entry.port, host, key, answered));
      try {
        await start(address);
      } catch (error) {
        // No IPv6 on this host: fall back to IPv4 only.
        if (
          (error as NodeJS.ErrnoException).code !== 'EAFNOSUPPORT' &&
          (error as NodeJS.ErrnoException).code !== 'EADDRNOTAVAIL'
        )
          throw error;
        address = '0.0.0.0';
        await start(address);
      }
      bound.push({ protocol: entry.protocol, port: entry.port, address });
    }
  } catch (error) {
    await close();
    throw bindError(error, (error as Error).message);
  }
  return { bound, answered, close };
}
