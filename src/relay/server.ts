/**
 * `porthole relay serve`: an SSH server (ssh2) for many tenants. A tenant logs in with its key
 * or token, asks for public ports with `tcpip-forward` (RFC 4254 §7.1), and gets a
 * `forwarded-tcpip` channel for every visitor. Ports it does not own are refused with an SSH
 * request failure. One listening port answers both SSH and WebSocket (told apart by the first
 * bytes), so a venue that lets out only port 80 can still reach it.
 */
import { timingSafeEqual } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import type { Server as HttpServer } from 'node:http';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { Duplex, Readable } from 'node:stream';
import ssh2, { type AuthContext, type Connection, type ServerChannel, type TcpipBindInfo } from 'ssh2';
import { bindError } from '../net/index.js';
import { loadOrCreateHostKey } from './hostKey.js';
import { createLogger, type RelayLogger } from './log.js';
import { createRelayMetrics, type RelayMetrics, serveMetrics } from './metrics.js';
import { ownsPort, poolCandidates, type Tenant, tokenMatches } from './tenants.js';
import { ByteBucket, createThrottle } from './throttle.js';
import { encodeUdpMessage, UDP_SUBSYSTEM, UdpFrameDecoder } from './udpCodec.js';
import { decodeHttpHead, encodeWsUpgradeResponse, MAX_WS_HANDSHAKE, upgradeKeyOf } from './wsCodec.js';
import { WsStream } from './wsStream.js';

// ssh2 is CommonJS: its named exports are read off the default export.
const { Server: SshServer } = ssh2;

/** A client must say which protocol it speaks within this long. */
const FIRST_BYTES_MS = 10_000;
/** Server keepalives: a vanished tenant is noticed within 45 s and its ports freed. */
const KEEPALIVE_INTERVAL_MS = 15_000;
const KEEPALIVE_COUNT_MAX = 3;
/** After a channel closes, the visitor gets this long to take the last bytes and close. */
const DRAIN_AFTER_CLOSE_MS = 30_000;
/** Port 0 requests try this many random pool ports before giving up. */
const POOL_ATTEMPTS = 64;

/** Options of createRelayServer. */
export interface RelayServerOptions {
  /** Where SSH (and WebSocket) are answered; several addresses allowed (e.g. :2222 and :80). */
  readonly listen: readonly { host: string; port: number }[];
  readonly tenants: readonly Tenant[];
  /** Holds the host key (created on first start). */
  readonly dataDir: string;
  /** The address public ports are bound on (default: all, `::` falling back to 0.0.0.0). */
  readonly publicHost?: string;
  /** Serve Prometheus metrics at http://HOST:PORT/metrics. */
  readonly metrics?: { host: string; port: number } | undefined;
  readonly logger?: RelayLogger;
}

/** A running relay. */
export interface RelayServer {
  /** Bound SSH/WebSocket addresses. */
  readonly addresses: readonly { host: string; port: number }[];
  /** SHA256 fingerprint of the host key, to pin on clients. */
  readonly fingerprint: string;
  readonly metrics: RelayMetrics;
  /** Where /metrics is served, when asked for. */
  readonly metricsAddress: { host: string; port: number } | undefined;
  /** Public ports bound now, by tenant (for tests and status). */
  tunnels(): { tenant: string; protocol: 'tcp' | 'udp'; port: number }[];
  /** Stops listening, closes every session and public port. */
  close(): Promise<void>;
}

/** A public TCP port bound for one session's forward. */
interface Forward {
  readonly tenant: Tenant;
  readonly bindAddr: string;
  readonly port: number;
  readonly server: Server;
  readonly session: Connection;
  readonly visitors: Set<Socket>;
}

function listenOn(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', reject);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}

/** Starts the relay: binds every listen address (nothing stays bound on failure). */
export async function createRelayServer(options: RelayServerOptions): Promise<RelayServer> {
  const log = options.logger ?? createLogger('silent');
  const metrics = createRelayMetrics();
  const hostKey = loadOrCreateHostKey(options.dataDir);
  const publicHost = options.publicHost ?? '0.0.0.0';
  const forwards = new Map<number, Forward>();
  const udpPorts = new Map<number, { tenant: Tenant; socket: UdpSocket; session: Connection }>();
  const sessions = new Set<Connection>();
  const openByTenant = new Map<string, number>();
  const listeners: Server[] = [];
  const addresses: { host: string; port: number }[] = [];
  let metricsServer: HttpServer | undefined;

  const refuse = (reason: string, fields: Record<string, unknown>) => {
    metrics.refusals.inc({ reason });
    log.warn('refused', { reason, ...fields });
  };

  const authenticate = (ctx: AuthContext, remote: string): Tenant | undefined => {
    const tenant = options.tenants.find((candidate) => candidate.name === ctx.username);
    if (!tenant) return undefined;
    if (ctx.method === 'password') return tokenMatches(tenant, ctx.password) ? tenant : undefined;
    if (ctx.method !== 'publickey') return undefined;
    const key = tenant.keys.find((candidate) => {
      const blob = candidate.getPublicSSH();
      return blob.length === ctx.key.data.length && timingSafeEqual(blob, ctx.key.data);
    });
    if (!key) return undefined;
    // Without a signature the client only asks whether the key would do (RFC 4252 §7).
    if (ctx.signature && key.verify(ctx.blob ?? Buffer.alloc(0), ctx.signature, ctx.hashAlgo) !== true) {
      log.warn('bad signature', { tenant: tenant.name, remote });
      return undefined;
    }
    return tenant;
  };

  const closeForward = (forward: Forward) => {
    if (forwards.get(forward.port) !== forward) return;
    forwards.delete(forward.port);
    metrics.tunnels.dec({ tenant: forward.tenant.name, protocol: 'tcp' });
    forward.server.close();
    for (const visitor of forward.visitors) visitor.destroy();
    log.info('tunnel closed', { tenant: forward.tenant.name, port: forward.port });
  };

  /** The tenant's buckets, one per direction, shared by all its connections. */
  const buckets = new Map<string, ByteBucket>();
  /**
   * `source`, paced by the tenant's bandwidth cap when it has one. The pacer goes when `sink`
   * closes (not when `source` does: it may still hold the source's last bytes).
   */
  const capped = (tenant: Tenant, direction: 'in' | 'out', source: Readable, sink: Duplex): Readable => {
    if (!tenant.maxBytesPerSecond) return source;
    const key = `${tenant.name}|${direction}`;
    let bucket = buckets.get(key);
    if (!bucket) {
      bucket = new ByteBucket(tenant.maxBytesPerSecond);
      buckets.set(key, bucket);
    }
    const throttle = createThrottle(bucket);
    sink.once('close', () => throttle.destroy());
    return source.pipe(throttle);
  };

  const onVisitor = (forward: Forward, visitor: Socket) => {
    const tenant = forward.tenant.name;
    const open = openByTenant.get(tenant) ?? 0;
    if (open >= forward.tenant.maxConnections) {
      refuse('connection-cap', { tenant, port: forward.port });
      visitor.destroy();
      return;
    }
    openByTenant.set(tenant, open + 1);
    forward.visitors.add(visitor);
    metrics.connections.inc({ tenant });
    metrics.openConnections.inc({ tenant });
    visitor.setNoDelay(true);
    visitor.pause();
    let channel: ServerChannel | undefined;
    let closed = false;
    // One cleanup path for the visitor and its channel.
    const done = () => {
      if (closed) return;
      closed = true;
      forward.visitors.delete(visitor);
      openByTenant.set(tenant, (openByTenant.get(tenant) ?? 1) - 1);
      metrics.openConnections.dec({ tenant });
      visitor.destroy();
      channel?.destroy();
    };
    visitor.on('error', done);
    visitor.on('close', done);
    const remoteAddress = (visitor.remoteAddress ?? '0.0.0.0').replace(/^::ffff:/, '');
    const remotePort = visitor.remotePort ?? 0;
    // The bound address is echoed as the tenant asked: OpenSSH's client finds its forward by it.
    forward.session.forwardOut(forward.bindAddr, forward.port, remoteAddress, remotePort, (error, opened) => {
      if (error || closed) {
        opened?.destroy();
        done();
        return;
      }
      channel = opened;
      channel.on('error', done);
      // A closed channel ends the visitor through the pipe once its last bytes are out (a paced
      // answer may still be on its way); the visitor's own close then cleans up. Bounded wait.
      channel.on('close', () => setTimeout(done, DRAIN_AFTER_CLOSE_MS).unref());
      channel.on('data', (chunk: Buffer) => metrics.bytes.inc({ tenant, direction: 'out' }, chunk.length));
      visitor.on('data', (chunk: Buffer) => metrics.bytes.inc({ tenant, direction: 'in' }, chunk.length));
      // ssh2's server channels send CLOSE right after EOF when ended, which would cut the
      // answer off a visitor that half-closes (HTTP/1.0 clients, `socat -`): send EOF alone.
      const inbound = capped(forward.tenant, 'in', visitor, channel);
      inbound.pipe(channel, { end: false });
      // The empty write's callback runs after every earlier chunk has gone out (the channel may
      // be waiting for window), so EOF never overtakes data.
      inbound.once('end', () => channel?.write(Buffer.alloc(0), () => channel?.eof()));
      capped(forward.tenant, 'out', channel, visitor).pipe(visitor);
      visitor.resume();
    });
  };

  /** Binds a public port for a tenant's forward; resolves the port, or a refusal reason. */
  const bindForward = async (tenant: Tenant, session: Connection, info: TcpipBindInfo): Promise<number | string> => {
    // The cap counts the tenant's other ports: a port being taken over does not count twice.
    const held = [...forwards.values()].filter((f) => f.tenant === tenant && f.port !== info.bindPort);
    if (held.length >= tenant.maxTunnels) return 'tunnel-cap';
    const candidates: number[] = [];
    if (info.bindPort !== 0) {
      if (!ownsPort(tenant, info.bindPort)) return 'port-not-owned';
      const holder = forwards.get(info.bindPort);
      if (holder && holder.tenant !== tenant) return 'port-in-use';
      // The same tenant asking again (a client back after a network drop the relay has not
      // noticed yet): the new session takes the port over, so there is never a duplicate listener.
      if (holder) {
        log.info('tunnel taken over', { tenant: tenant.name, port: info.bindPort });
        closeForward(holder);
      }
      candidates.push(info.bindPort);
    } else candidates.push(...poolCandidates(tenant, (port) => forwards.has(port), POOL_ATTEMPTS));
    for (const port of candidates) {
      // Half-open allowed: a visitor's FIN must not end the answer coming back.
      const server = createServer({ allowHalfOpen: true });
      try {
        await listenOn(server, publicHost, port);
      } catch (error) {
        log.warn('public port unavailable', { tenant: tenant.name, port, error: (error as Error).message });
        continue;
      }
      const forward: Forward = { tenant, bindAddr: info.bindAddr, port, server, session, visitors: new Set() };
      if (!sessions.has(session)) {
        server.close();
        return 'session-gone';
      }
      forwards.set(port, forward);
      server.on('connection', (visitor) => onVisitor(forward, visitor));
      server.on('error', () => closeForward(forward));
      metrics.tunnels.inc({ tenant: tenant.name, protocol: 'tcp' });
      log.info('tunnel open', { tenant: tenant.name, port, requested: info.bindPort });
      return port;
    }
    return candidates.length === 0 ? 'pool-exhausted' : 'port-unavailable';
  };

  /** The relay end of UDP: one public socket per BIND, datagrams framed over the channel. */
  const serveUdp = (tenant: Tenant, session: Connection, channel: ServerChannel) => {
    const decoder = new UdpFrameDecoder();
    let bound: { port: number; socket: UdpSocket } | undefined;
    const close = () => {
      if (bound && udpPorts.get(bound.port)?.socket === bound.socket) {
        udpPorts.delete(bound.port);
        metrics.tunnels.dec({ tenant: tenant.name, protocol: 'udp' });
        bound.socket.close();
      }
      bound = undefined;
      channel.destroy();
    };
    channel.on('close', close);
    channel.on('error', close);
    const bindUdp = async (requested: number): Promise<number | undefined> => {
      const ports = requested !== 0 ? [requested] : poolCandidates(tenant, (port) => udpPorts.has(port), POOL_ATTEMPTS);
      for (const port of ports) {
        if (!ownsPort(tenant, port)) continue;
        const held = udpPorts.get(port);
        if (held && held.tenant !== tenant) continue;
        if (held) {
          held.socket.close();
          udpPorts.delete(port);
          metrics.tunnels.dec({ tenant: tenant.name, protocol: 'udp' });
        }
        const socket = createSocket('udp4');
        const ok = await new Promise<boolean>((resolve) => {
          socket.once('error', () => resolve(false));
          socket.bind(port, publicHost === '::' ? '0.0.0.0' : publicHost, () => resolve(true));
        });
        if (!ok) {
          socket.close();
          continue;
        }
        socket.on('error', () => {});
        socket.on('message', (payload, remote) => {
          metrics.bytes.inc({ tenant: tenant.name, direction: 'in' }, payload.length);
          channel.write(encodeUdpMessage({ type: 'datagram', address: remote.address, port: remote.port, payload }));
        });
        bound = { port, socket };
        udpPorts.set(port, { tenant, socket, session });
        metrics.tunnels.inc({ tenant: tenant.name, protocol: 'udp' });
        return port;
      }
      return undefined;
    };
    channel.on('data', (chunk: Buffer) => {
      let messages: ReturnType<UdpFrameDecoder['push']>;
      try {
        messages = decoder.push(chunk);
      } catch (error) {
        log.warn('bad UDP frame', { tenant: tenant.name, error: (error as Error).message });
        close();
        return;
      }
      for (const message of messages) {
        if (message.type === 'bind' && !bound) {
          void bindUdp(message.port).then((port) => {
            if (port === undefined) {
              refuse('udp-port-not-owned', { tenant: tenant.name, port: message.port });
              channel.write(
                encodeUdpMessage({
                  type: 'refused',
                  reason: `port ${message.port} is not available to ${tenant.name}`,
                }),
              );
            } else {
              log.info('udp tunnel open', { tenant: tenant.name, port });
              channel.write(encodeUdpMessage({ type: 'bound', port }));
            }
          });
        } else if (message.type === 'datagram' && bound) {
          metrics.bytes.inc({ tenant: tenant.name, direction: 'out' }, message.payload.length);
          bound.socket.send(message.payload, message.port, message.address);
        }
      }
    });
  };

  const ssh = new SshServer(
    {
      hostKeys: [hostKey.privateKey],
      keepaliveInterval: KEEPALIVE_INTERVAL_MS,
      keepaliveCountMax: KEEPALIVE_COUNT_MAX,
    },
    (session: Connection, info) => {
      const remote = `${info.ip}:${info.port}`;
      let tenant: Tenant | undefined;
      let attempted = false;
      sessions.add(session);
      session.on('error', (error) => log.debug('session error', { remote, error: error.message }));
      session.on('authentication', (ctx) => {
        const found = authenticate(ctx, remote);
        if (found) {
          tenant = found;
          ctx.accept();
          return;
        }
        // 'none' is every client's first try; a key or token tried counts once, at close.
        if (ctx.method === 'password' || ctx.method === 'publickey') attempted = true;
        ctx.reject(['publickey', 'password']);
      });
      session.on('ready', () => {
        if (!tenant) return;
        metrics.sessions.inc({ tenant: tenant.name });
        log.info('tenant logged in', { tenant: tenant.name, remote });
      });
      session.on('request', (accept, reject, name, request) => {
        const owner = tenant;
        if (!owner) {
          reject?.();
          return;
        }
        const bind = request as TcpipBindInfo;
        if (name === 'tcpip-forward') {
          void bindForward(owner, session, bind).then((result) => {
            if (typeof result === 'number') accept?.(result);
            else {
              refuse(result, { tenant: owner.name, port: bind.bindPort });
              reject?.();
            }
          });
        } else if (name === 'cancel-tcpip-forward') {
          const forward = forwards.get(bind.bindPort);
          if (forward && forward.session === session) {
            closeForward(forward);
            accept?.();
          } else reject?.();
        } else reject?.();
      });
      session.on('session', (acceptSession) => {
        const channelSession = acceptSession();
        channelSession.on('subsystem', (accept, reject, request) => {
          if (request.name === UDP_SUBSYSTEM && tenant?.udp) serveUdp(tenant, session, accept());
          else {
            refuse(request.name === UDP_SUBSYSTEM ? 'udp-off' : 'subsystem', {
              tenant: tenant?.name,
              name: request.name,
            });
            reject();
          }
        });
        // A relay offers no shell or commands: `ssh -N` is the way to use it.
        for (const event of ['pty', 'shell', 'exec', 'env', 'x11', 'auth-agent', 'sftp'] as const) {
          channelSession.on(event as 'shell', (_accept, reject) => reject?.());
        }
      });
      // Not an open proxy: direct-tcpip (ssh -L) is allowed only to this session's own public
      // ports, which lets a client behind an egress filter prove its port from the relay's side.
      session.on('tcpip', (accept, reject, request) => {
        const forward = forwards.get(request.destPort);
        if (!forward || forward.session !== session) {
          refuse('direct-tcpip', { tenant: tenant?.name, port: request.destPort });
          reject();
          return;
        }
        const target = createConnection({
          host: publicHost === '0.0.0.0' || publicHost === '::' ? '127.0.0.1' : publicHost,
          port: forward.port,
        });
        target.once('error', () => reject());
        target.once('connect', () => {
          const channel = accept();
          const done = () => {
            target.destroy();
            channel.destroy();
          };
          target.on('error', done).on('close', done);
          channel.on('error', done).on('close', done);
          target.pipe(channel);
          channel.pipe(target);
        });
      });
      session.on('close', () => {
        sessions.delete(session);
        if (!tenant && attempted) refuse('auth', { remote });
        if (tenant) metrics.sessions.dec({ tenant: tenant.name });
        for (const forward of [...forwards.values()]) if (forward.session === session) closeForward(forward);
        for (const [port, udp] of [...udpPorts]) {
          if (udp.session !== session) continue;
          udp.socket.close();
          udpPorts.delete(port);
          metrics.tunnels.dec({ tenant: udp.tenant.name, protocol: 'udp' });
        }
        log.debug('session closed', { remote, tenant: tenant?.name });
      });
    },
  );
  ssh.on('error', (error: Error) => log.warn('ssh server error', { error: error.message }));

  /** Sniffs the first bytes: "SSH-" goes to the SSH server, "GET " gets the WebSocket upgrade. */
  const onSocket = (socket: Socket) => {
    let buffered = Buffer.alloc(0);
    socket.setNoDelay(true);
    socket.setTimeout(FIRST_BYTES_MS, () => socket.destroy());
    socket.on('error', () => socket.destroy());
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const start = buffered.subarray(0, 4).toString('latin1');
      if (buffered.length < 4 && ('SSH-'.startsWith(start) || 'GET '.startsWith(start))) return;
      if (start === 'SSH-') {
        socket.off('data', onData);
        socket.setTimeout(0);
        socket.pause();
        socket.unshift(buffered);
        ssh.injectSocket(socket);
        return;
      }
      if (start === 'GET ') {
        let head: ReturnType<typeof decodeHttpHead>;
        try {
          head = decodeHttpHead(buffered);
        } catch {
          socket.destroy();
          return;
        }
        if (!head) return;
        socket.off('data', onData);
        const key = upgradeKeyOf(head);
        if (!key) {
          socket.end('HTTP/1.1 426 Upgrade Required\r\nUpgrade: websocket\r\nContent-Length: 0\r\n\r\n');
          return;
        }
        socket.setTimeout(0);
        socket.write(encodeWsUpgradeResponse(key));
        ssh.injectSocket(new WsStream(socket, 'server', buffered.subarray(head.length)) as Duplex as Socket);
        return;
      }
      if (buffered.length > MAX_WS_HANDSHAKE || buffered.length >= 4) socket.destroy();
    };
    socket.on('data', onData);
  };

  const close = async () => {
    for (const server of listeners) server.close();
    for (const forward of [...forwards.values()]) closeForward(forward);
    for (const { socket } of udpPorts.values()) socket.close();
    udpPorts.clear();
    for (const session of sessions) session.end();
    metricsServer?.close();
    await Promise.all(listeners.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  };

  try {
    for (const address of options.listen) {
      const server = createServer(onSocket);
      listeners.push(server);
      try {
        const port = await listenOn(server, address.host, address.port);
        addresses.push({ host: address.host, port });
      } catch (error) {
        throw bindError(error, `${address.host}:${address.port}/tcp`);
      }
    }
    if (options.metrics)
      metricsServer = await serveMetrics(metrics.registry, options.metrics.host, options.metrics.port);
  } catch (error) {
    await close();
    throw error;
  }
  log.info('relay listening', {
    addresses: addresses.map((a) => `${a.host}:${a.port}`),
    fingerprint: hostKey.fingerprint,
    tenants: options.tenants.length,
  });
  return {
    addresses,
    fingerprint: hostKey.fingerprint,
    metrics,
    metricsAddress: (() => {
      const address = metricsServer?.address();
      return typeof address === 'object' && address ? { host: address.address, port: address.port } : undefined;
    })(),
    tunnels: () => [
      ...[...forwards.values()].map((f) => ({ tenant: f.tenant.name, protocol: 'tcp' as const, port: f.port })),
      ...[...udpPorts].map(([port, u]) => ({ tenant: u.tenant.name, protocol: 'udp' as const, port })),
    ],
    close,
  };
}
