/**
 * The egress listener of `porthole serve`: answers the signed egress handshake (and its HTTP
 * form, for the web page) on every asked TCP port of one address, and the UDP echo on the
 * asked UDP ports. Up to SOCKET_LIMIT ports it binds a socket per port; beyond that one socket
 * per transport and an nftables redirect (redirect.ts), so the whole 1-65535 costs two sockets.
 */
import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, isIPv6, type Server, type Socket } from 'node:net';
import { PortholeError } from '../errors/index.js';
import { bindError, type PortRange, portEntries } from '../net/index.js';
import {
  decodeEgressHello,
  decodeEgressUdpHello,
  egressHttpAnswer,
  encodeEgressAnswer,
  MAX_EGRESS_LINE,
} from './bannerCodec.js';
import { type AppliedRedirect, applyRedirect, subtractPorts } from './redirect.js';

/** Up to this many ports get a socket each; more need the nftables redirect. */
export const SOCKET_LIMIT = 1024;
/** A connection that has not said who it is within this long is dropped. */
const IDLE_MS = 5000;
/** Connections open at once; more are closed at once (a SYN flood must not exhaust descriptors). */
const MAX_CONNECTIONS = 4096;
const HTTP_HEAD_LIMIT = 4096;

/** Settings of the egress listener. */
export interface EgressListenerOptions {
  /** A specific address (the redirect captures only this address's ports). */
  readonly address: string;
  readonly tcp: readonly PortRange[];
  readonly udp: readonly PortRange[];
  /** Ports of this address the service itself uses (HTTP API, STUN): never captured. */
  readonly exclude: readonly number[];
  /** The signing key; a fresh one when absent. */
  readonly privateKey?: KeyObject;
  /** `sockets` (one per port), `redirect` (nftables), or `auto` (sockets up to SOCKET_LIMIT). */
  readonly mode?: 'auto' | 'sockets' | 'redirect';
}

/** A running egress listener. */
export interface EgressListener {
  readonly mode: 'sockets' | 'redirect';
  readonly address: string;
  /** The ports answered, after the service's own were taken out. */
  readonly tcp: readonly PortRange[];
  readonly udp: readonly PortRange[];
  readonly publicKey: KeyObject;
  /** Answers given, by kind. */
  readonly answered: { tcp: number; udp: number; http: number };
  close(): Promise<void>;
}

/** A fresh Ed25519 key pair for signing answers. */
export function newEgressKey(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('ed25519');
}

type Counters = EgressListener['answered'];

/** Serves one connection: the handshake line, or an HTTP GET /probe, then closes. */
function serveConnection(socket: Socket, key: KeyObject, fixedPort: number | undefined, counters: Counters): void {
  let buffered = '';
  socket.setTimeout(IDLE_MS, () => socket.destroy());
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk) => {
    buffered += chunk.toString('latin1');
    if (buffered.startsWith('GET ')) {
      if (!buffered.includes('\r\n\r\n') && !buffered.includes('\n\n')) {
        if (buffered.length > HTTP_HEAD_LIMIT) socket.destroy();
        return;
      }
      const answer = egressHttpAnswer(key, buffered);
      if (answer) counters.http++;
      socket.end(answer ?? 'HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const end = buffered.indexOf('\n');
    if (end < 0) {
      if (buffered.length > MAX_EGRESS_LINE) socket.destroy();
      return;
    }
    const hello = decodeEgressHello(buffered.slice(0, end + 1));
    if (!hello) {
      socket.destroy();
      return;
    }
    counters.tcp++;
    // With a socket per port the port is known; answering it (not the claimed one) exposes a
    // middlebox that moved the connection to another port.
    socket.end(encodeEgressAnswer(key, fixedPort ?? hello.port, hello.nonce));
  });
}

function listenTcp(address: string, port: number, onSocket: (socket: Socket, server: Server) => void): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer({ pauseOnConnect: false });
    server.maxConnections = MAX_CONNECTIONS;
    server.on('connection', (socket) => onSocket(socket, server));
    server.once('error', (error) => reject(bindError(error, `${address}:${port}/tcp`)));
    server.listen({ host: address, port, backlog: 4096 }, () => {
      server.removeAllListeners('error');
      server.on('error', () => {});
      resolve(server);
    });
  });
}

function listenUdp(address: string, port: number, key: KeyObject, fixedPort: number | undefined, counters: Counters) {
  return new Promise<UdpSocket>((resolve, reject) => {
    const socket = createSocket(isIPv6(address) ? 'udp6' : 'udp4');
    socket.on('message', (datagram, remote) => {
      const hello = decodeEgressUdpHello(datagram);
      if (!hello) return;
      const answer = Buffer.from(encodeEgressAnswer(key, fixedPort ?? hello.port, hello.nonce), 'latin1');
      if (answer.length > datagram.length) return; // Never more bytes out than came in.
      counters.udp++;
      socket.send(answer, remote.port, remote.address, () => {});
    });
    socket.once('error', (error) => reject(bindError(error, `${address}:${port}/udp`)));
    socket.bind({ address, port }, () => {
      socket.removeAllListeners('error');
      socket.on('error', () => {});
      resolve(socket);
    });
  });
}

function countOf(ranges: readonly PortRange[]): number {
  return ranges.reduce((sum, range) => sum + range.end - range.start + 1, 0);
}

/** Starts the listener. On any failure, whatever was bound or applied is undone first. */
export async function startEgressListener(options: EgressListenerOptions): Promise<EgressListener> {
  if (options.address === '0.0.0.0' || options.address === '::') {
    throw new PortholeError('E_USAGE', {
      detail: '--egress-address must be one specific address, not a wildcard',
      hint: 'Give the egress listener an address of its own (a second address on the interface is best).',
    });
  }
  const tcp = subtractPorts(options.tcp, options.exclude);
  const udp = subtractPorts(options.udp, options.exclude);
  const total = countOf(tcp) + countOf(udp);
  const mode =
    options.mode === 'auto' || options.mode === undefined
      ? total <= SOCKET_LIMIT
        ? 'sockets'
        : 'redirect'
      : options.mode;
  const keys = options.privateKey
    ? { privateKey: options.privateKey, publicKey: createPublicKey(options.privateKey) }
    : newEgressKey();
  const counters: Counters = { tcp: 0, udp: 0, http: 0 };
  const servers: Server[] = [];
  const sockets: UdpSocket[] = [];
  const live = new Set<Socket>();
  let redirect: AppliedRedirect | undefined;
  const onSocket = (fixedPort: number | undefined) => (socket: Socket) => {
    live.add(socket);
    socket.once('close', () => live.delete(socket));
    serveConnection(socket, keys.privateKey, fixedPort, counters);
  };
  const close = async () => {
    await redirect?.remove();
    for (const socket of live) socket.destroy();
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
    for (const socket of sockets) socket.close();
  };
  try {
    if (mode === 'sockets') {
      for (const entry of portEntries(tcp))
        servers.push(await listenTcp(options.address, entry.port, onSocket(entry.port)));
      for (const entry of portEntries(udp)) {
        sockets.push(await listenUdp(options.address, entry.port, keys.privateKey, entry.port, counters));
      }
    } else {
      const rules: { protocol: 'tcp' | 'udp'; ranges: PortRange[]; toPort: number }[] = [];
      if (tcp.length > 0) {
        const server = await listenTcp(options.address, 0, onSocket(undefined));
        servers.push(server);
        rules.push({ protocol: 'tcp', ranges: tcp, toPort: (server.address() as { port: number }).port });
      }
      if (udp.length > 0) {
        const socket = await listenUdp(options.address, 0, keys.privateKey, undefined, counters);
        sockets.push(socket);
        rules.push({ protocol: 'udp', ranges: udp, toPort: socket.address().port });
      }
      redirect = await applyRedirect({ address: options.address, family: isIPv6(options.address) ? 6 : 4, rules });
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { mode, address: options.address, tcp, udp, publicKey: keys.publicKey, answered: counters, close };
}
