/**
 * The relay client: one SSH connection to a relay (OpenSSH sshd, `porthole relay serve`, or any
 * RFC 4254 server), a remote forward (`tcpip-forward`) for the public port, and each
 * `forwarded-tcpip` channel piped to the local server. Keepalives notice a dead relay, the
 * connection is re-made with jittered backoff, and the forward is asked for again.
 */
import { EventEmitter } from 'node:events';
import { connect as connectTcp, isIP, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import ssh2, { type Client, type ClientChannel, type ConnectConfig, type TcpConnectionDetails } from 'ssh2';
import { abortReason, settleOnce, sleep, throwIfAborted } from '../deadline/index.js';
import { PortholeError, toPortholeError } from '../errors/index.js';
import { backoffDelay } from './backoff.js';
import { type RelayCredentials, resolveCredentials } from './identity.js';
import { knownHostsPath, pinHostKey } from './knownHosts.js';
import { encodeProxyHeader, type ProxyProtocolVersion } from './proxyProtocol.js';
import { defaultTransports, openTransport, type RelayTransport, transportName } from './transport.js';
import { learnRelayEgress, orderTransports, portOfTransport, type RelayEgress } from './transportOrder.js';
import { openUdpForward, type UdpForward } from './udpClient.js';
import { parseRelayUrl, type RelayUrl } from './url.js';

// ssh2 is CommonJS: its named exports are read off the default export.
const { Client: SshClient } = ssh2;

/**
 * Keepalive every 15 s, 3 unanswered = dead: a silent relay is noticed within 45 s, as the
 * issue asks, without chatter on a healthy link.
 */
const KEEPALIVE_INTERVAL_MS = 15_000;
const KEEPALIVE_COUNT_MAX = 3;
/** After a channel closes, the local server gets this long to take the last bytes and close. */
const DRAIN_AFTER_CLOSE_MS = 30_000;
/** The SSH handshake (after the transport is up) must finish within this. */
const READY_TIMEOUT_MS = 10_000;

/** Options of openRelay. */
export interface OpenRelayOptions {
  /** `ssh://USER[:TOKEN]@HOST[:PORT]`. */
  readonly url: string;
  /** The local server's port. */
  readonly localPort: number;
  /** The local server's address (default 127.0.0.1). */
  readonly localHost?: string;
  /** The public port to ask for; 0 (default) lets the relay pick. */
  readonly remotePort?: number;
  /** The address the relay binds (default "" = all its addresses; needs GatewayPorts clientspecified on sshd). */
  readonly bindAddress?: string;
  /** Send a PROXY protocol header to the local server (default: none). */
  readonly proxyProtocol?: ProxyProtocolVersion | undefined;
  /** A private key file; default ~/.ssh/id_ed25519, id_ecdsa, id_rsa, then SSH_AUTH_SOCK. */
  readonly identityFile?: string | undefined;
  /** porthole's data directory; its known_hosts pins relay host keys. */
  readonly dataDir: string;
  /** The transports to try in order (default: direct, the proxy when named, WebSocket ports). */
  readonly transports?: readonly RelayTransport[];
  /** An HTTP proxy for CONNECT (default: HTTPS_PROXY). */
  readonly proxy?: string | undefined;
  /** Ports where the relay answers WebSocket (porthole relay serve); tried after direct and proxy (default 443, 80; [] for none). */
  readonly webSocketPorts?: readonly number[];
  /** Also forward UDP to localPort over porthole's UDP channel (porthole relay serve only). */
  readonly udp?: boolean;
  /** Keepalive interval (default 15 s; with count 3 a dead relay is noticed within 45 s). */
  readonly keepaliveIntervalMs?: number;
  /** Environment for HTTPS_PROXY and SSH_AUTH_SOCK (default process.env). */
  readonly env?: NodeJS.ProcessEnv;
  /** Ends the tunnel when aborted. */
  readonly signal?: AbortSignal | undefined;
}

/** What a tunnel tells its user, as events. */
export interface RelayEvents {
  /** The SSH connection and its forward are up (again). */
  connected: [{ transport: string; publicPort: number; reconnect: boolean }];
  /** The connection dropped; a reconnect follows in `retryInMs`. */
  disconnected: [{ reason: string; retryInMs: number }];
  /** A visitor came in through the public port. */
  visitor: [{ address: string; port: number }];
  /** A visitor's connection to the local server failed. */
  localRefused: [{ address: string; port: number; reason: string }];
  /** A reconnect cannot succeed without a person (changed host key, credentials refused). */
  failed: [PortholeError];
}

/** A running tunnel. */
export interface RelayTunnel {
  /** HOST:PORT to give users. */
  readonly publicAddress: string;
  readonly publicHost: string;
  readonly publicPort: number;
  /** The public UDP port, when `udp` was asked for and the relay carries UDP. */
  readonly publicUdpPort: number | undefined;
  /** The transport the first connection used. */
  readonly transport: string;
  /** `recorded` when the relay's host key was seen for the first time now. */
  readonly hostKey: 'known' | 'recorded';
  /** Counters since the tunnel opened. */
  readonly stats: { visitors: number; bytesIn: number; bytesOut: number; reconnects: number };
  readonly events: EventEmitter<RelayEvents>;
  /**
   * A connection to the public port made by the relay itself (a `direct-tcpip` channel), for
   * proving the port from a network that does not let it out. Rejects when there is no session.
   */
  dialPublic(signal?: AbortSignal): Promise<Duplex>;
  /** Cancels the forward, closes every channel and the connection. Idempotent. */
  dispose(): Promise<void>;
}

/** One SSH session to the relay with its forward requested. */
interface Session {
  readonly client: Client;
  readonly port: number;
  readonly transport: string;
  readonly udp: UdpForward | undefined;
}

/** Maps an ssh2 connection error onto a coded error. */
function classify(error: unknown, relay: RelayUrl, pinned: PortholeError | undefined): PortholeError {
  if (pinned) return pinned;
  const level = (error as { level?: string }).level;
  const message = error instanceof Error ? error.message : String(error);
  if (level === 'client-authentication') {
    return new PortholeError('E_RELAY_AUTH', { detail: `${relay.display}: ${message}`, cause: error });
  }
  if (error instanceof PortholeError && error.code !== 'E_TIMEOUT') return error;
  return new PortholeError('E_RELAY_UNREACHABLE', { detail: `${relay.display}: ${message}`, cause: error });
}

/** Connects, authenticates and pins the host key over one transport stream. */
function sshHandshake(
  sock: Duplex,
  relay: RelayUrl,
  credentials: RelayCredentials,
  knownHosts: string,
  keepaliveIntervalMs: number,
  signal: AbortSignal,
): Promise<{ client: Client; hostKey: 'known' | 'recorded' }> {
  return new Promise((resolve, reject) => {
    const client = new SshClient();
    let hostKey: 'known' | 'recorded' = 'known';
    let pinned: PortholeError | undefined;
    let settled = false;
    const finish = (error: PortholeError | undefined) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      client.removeListener('ready', onReady);
      if (error) {
        client.end();
        sock.destroy();
        reject(error);
      } else resolve({ client, hostKey });
    };
    const onAbort = () => finish(toPortholeError(abortReason(signal)));
    const onReady = () => finish(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
    client.once('ready', onReady);
    client.on('error', (error) => finish(classify(error, relay, pinned)));
    client.once('close', () => finish(classify(new Error('the relay closed the connection'), relay, pinned)));
    const config: ConnectConfig = {
      sock,
      username: relay.user,
      readyTimeout: READY_TIMEOUT_MS,
      keepaliveInterval: keepaliveIntervalMs,
      keepaliveCountMax: KEEPALIVE_COUNT_MAX,
      hostVerifier: (key: Buffer) => {
        try {
          hostKey = pinHostKey(knownHosts, relay.host, relay.port, key);
          return true;
        } catch (error) {
          pinned = toPortholeError(error);
          return false;
        }
      },
      ...(credentials.password ? { password: credentials.password, tryKeyboard: false } : {}),
      ...(credentials.privateKey ? { privateKey: credentials.privateKey } : {}),
      ...(credentials.agent ? { agent: credentials.agent } : {}),
    };
    client.connect(config);
  });
}

/** Asks for the remote forward; E_RELAY_FORWARD_REFUSED when the relay says no. */
function requestForward(client: Client, bindAddress: string, port: number, relay: RelayUrl): Promise<number> {
  return new Promise((resolve, reject) => {
    client.forwardIn(bindAddress, port, (error, bound) => {
      if (error) {
        reject(
          new PortholeError('E_RELAY_FORWARD_REFUSED', {
            detail: `${relay.display} refused tcpip-forward for port ${port}${port === 0 ? ' (any)' : ''}: ${error.message}`,
            cause: error,
          }),
        );
        return;
      }
      // RFC 4254 §7.1: the server names the port only when port 0 was asked for.
      resolve(port === 0 ? bound : port);
    });
  });
}

/** The destination address for a PROXY header: the bound IP when it is one, else the relay's. */
function destinationOf(info: TcpConnectionDetails, relayAddress: string | undefined): string {
  if (isIP(info.destIP) && info.destIP !== '0.0.0.0' && info.destIP !== '::') return info.destIP;
  return relayAddress && isIP(relayAddress) ? relayAddress : '0.0.0.0';
}

/**
 * Opens a reverse tunnel through an SSH relay and keeps it up until `dispose()` or the signal.
 * Throws a coded error when the first connection cannot be made: E_RELAY_URL, E_RELAY_NO_IDENTITY,
 * E_RELAY_UNREACHABLE, E_RELAY_AUTH, E_RELAY_HOST_KEY_CHANGED, E_RELAY_FORWARD_REFUSED,
 * E_RELAY_UDP_UNSUPPORTED. Later drops are retried with backoff (events: `disconnected`, `connected`).
 */
export async function openRelay(options: OpenRelayOptions): Promise<RelayTunnel> {
  const relay = parseRelayUrl(options.url);
  const signal = options.signal ?? new AbortController().signal;
  throwIfAborted(signal);
  const env = options.env ?? process.env;
  const credentials = resolveCredentials({
    token: relay.token,
    identityFile: options.identityFile,
    env,
  });
  const knownHosts = knownHostsPath(options.dataDir);
  const localHost = options.localHost ?? '127.0.0.1';
  const keepaliveIntervalMs = options.keepaliveIntervalMs ?? KEEPALIVE_INTERVAL_MS;
  const proxy = options.proxy ?? (env.HTTPS_PROXY || env.https_proxy || undefined);
  let transports = options.transports ?? defaultTransports({ proxy, webSocketPorts: options.webSocketPorts });
  // The network's egress to the relay's ports, learnt beside the first attempt (transportOrder.ts).
  let egress: Promise<RelayEgress> | undefined;
  const events = new EventEmitter<RelayEvents>();
  const stats = { visitors: 0, bytesIn: 0, bytesOut: 0, reconnects: 0 };
  const channels = new Set<{ channel: ClientChannel; local: Socket }>();
  const life = new AbortController();
  let disposed = false;
  let session: Session | undefined;
  let relayAddress: string | undefined = isIP(relay.host) ? relay.host : undefined;

  const onVisitor = (info: TcpConnectionDetails, accept: () => ClientChannel, reject: () => void): void => {
    stats.visitors++;
    events.emit('visitor', { address: info.srcIP, port: info.srcPort });
    const local = connectTcp({ host: localHost, port: options.localPort, allowHalfOpen: true });
    local.setNoDelay(true);
    local.once('error', (error) => {
      events.emit('localRefused', { address: info.srcIP, port: info.srcPort, reason: error.message });
      reject();
    });
    local.once('connect', () => {
      local.removeAllListeners('error');
      const channel = accept();
      const entry = { channel, local };
      channels.add(entry);
      // One cleanup path for both ends of the pipe.
      const done = () => {
        if (!channels.delete(entry)) return;
        local.destroy();
        channel.destroy();
      };
      local.on('error', done);
      channel.on('error', done);
      // Each end may still hold the other's last bytes when it closes: the local server's answer
      // waits in the channel for the relay's window (a relay pacing a tenant reads slowly: 1 MiB
      // of a 3 MiB answer was cut off when the local socket's close destroyed the channel), and
      // the channel's last bytes wait in the local socket. Both closed ends it at once; one
      // closed waits, bounded, for the other to finish.
      let localClosed = false;
      let channelClosed = false;
      local.on('close', (hadError) => {
        localClosed = true;
        if (hadError || channelClosed) done();
        else setTimeout(done, DRAIN_AFTER_CLOSE_MS).unref();
      });
      channel.on('close', () => {
        channelClosed = true;
        if (localClosed) done();
        else setTimeout(done, DRAIN_AFTER_CLOSE_MS).unref();
      });
      if (options.proxyProtocol) {
        local.write(
          encodeProxyHeader(options.proxyProtocol, {
            sourceAddress: info.srcIP,
            sourcePort: info.srcPort,
            destinationAddress: destinationOf(info, relayAddress),
            destinationPort: info.destPort,
          }),
        );
      }
      channel.on('data', (chunk: Buffer) => {
        stats.bytesIn += chunk.length;
      });
      local.on('data', (chunk: Buffer) => {
        stats.bytesOut += chunk.length;
      });
      channel.pipe(local);
      local.pipe(channel);
    });
  };

  /** One attempt over every transport in order: the first that gives an SSH session with its forward wins. */
  const connectOnce = async (
    port: number,
    udpPort: number | undefined,
  ): Promise<Session & { hostKey: 'known' | 'recorded' }> => {
    const failures: string[] = [];
    // A proxy that refused (or a bad --proxy) explains the failure better than "unreachable".
    let proxyError: PortholeError | undefined;
    if (!options.transports && transports.length > 1) egress ??= learnRelayEgress(transports, relay, life.signal);
    let reordered = false;
    const pending = [...transports];
    for (let transport = pending.shift(); transport !== undefined; transport = pending.shift()) {
      throwIfAborted(life.signal);
      let sock: Duplex;
      // A port the sweep finds blocked is given up at once, not after the transport's deadline.
      const giveUp = new AbortController();
      const wayOut = portOfTransport(transport, relay.port);
      void egress?.then((seen) => {
        if (wayOut !== undefined && seen.get(wayOut) === 'blocked') giveUp.abort();
      });
      try {
        sock = await openTransport(transport, relay.host, relay.port, AbortSignal.any([life.signal, giveUp.signal]));
      } catch (error) {
        throwIfAborted(life.signal);
        const coded = toPortholeError(error);
        if (coded.code === 'E_RELAY_PROXY' || coded.code === 'E_USAGE') proxyError ??= coded;
        failures.push(
          `${transportName(transport)}: ${giveUp.signal.aborted ? `port ${wayOut} does not get out of this network (no answer to the egress sweep)` : (error as Error).message}`,
        );
        // After the first failure, the rest go in the order the network allows.
        if (!reordered && egress) {
          const seen = await egress;
          pending.splice(0, pending.length, ...orderTransports(pending, relay.port, seen));
          reordered = true;
        }
        continue;
      }
      const remote = (sock as Partial<Socket>).remoteAddress;
      if (transport.kind === 'direct' && remote) relayAddress = remote.replace(/^::ffff:/, '');
      const { client, hostKey } = await sshHandshake(
        sock,
        relay,
        credentials,
        knownHosts,
        keepaliveIntervalMs,
        life.signal,
      ).catch((error: PortholeError) => {
        // A refused login or a changed key will not get better over another transport.
        if (error.code !== 'E_RELAY_UNREACHABLE') throw error;
        failures.push(`${transportName(transport)}: ${error.message}`);
        return { client: undefined, hostKey: 'known' as const };
      });
      if (!client) continue;
      client.on('tcp connection', onVisitor);
      client.on('error', () => {}); // Reported through 'close' below.
      try {
        const bound = await requestForward(client, options.bindAddress ?? '', port, relay);
        // UDP asks for the TCP port's number first: one public port for both, when the tenant owns it.
        const udp = options.udp
          ? await openUdpForward(client, udpPort ?? bound, localHost, options.localPort).catch((error: unknown) =>
              udpPort === undefined && bound !== 0
                ? openUdpForward(client, 0, localHost, options.localPort)
                : Promise.reject(error),
            )
          : undefined;
        // Reconnects start with the way that worked, then the rest in the order learnt.
        transports = [transport, ...pending, ...transports.filter((t) => t !== transport && !pending.includes(t))];
        return { client, port: bound, transport: transportName(transport), udp, hostKey };
      } catch (error) {
        client.end();
        throw error;
      }
    }
    const detail = `${relay.display}: ${failures.join('; ') || 'no transport to try'}`;
    throw new PortholeError(proxyError?.code ?? 'E_RELAY_UNREACHABLE', {
      detail,
      ...(proxyError ? { cause: proxyError } : {}),
    });
  };

  const onAbort = () => void dispose();
  const first = await (async () => {
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      return await connectOnce(options.remotePort ?? 0, undefined);
    } catch (error) {
      signal.removeEventListener('abort', onAbort);
      life.abort();
      throw signal.aborted ? abortReason(signal) : error;
    }
  })();
  session = first;
  const publicPort = first.port;
  const publicUdpPort = first.udp?.port;

  /** Watches the session; when it closes, reconnects with backoff until disposed. */
  const watch = (current: Session) => {
    current.client.once('close', () => {
      current.udp?.close();
      if (disposed || session !== current) return;
      session = undefined;
      void reconnect();
    });
  };
  const reconnect = async () => {
    for (let attempt = 0; !disposed; attempt++) {
      const retryInMs = backoffDelay(attempt);
      events.emit('disconnected', { reason: 'the connection to the relay closed', retryInMs });
      try {
        await sleep(retryInMs, { signal: life.signal });
        // Same port as before, so the address given to users stays valid.
        const next = await connectOnce(publicPort, publicUdpPort);
        if (disposed) {
          next.client.end();
          return;
        }
        session = next;
        stats.reconnects++;
        watch(next);
        events.emit('connected', { transport: next.transport, publicPort: next.port, reconnect: true });
        return;
      } catch (error) {
        if (disposed) return;
        const coded = toPortholeError(error);
        if (coded.code === 'E_RELAY_HOST_KEY_CHANGED' || coded.code === 'E_RELAY_AUTH') {
          events.emit('failed', coded);
          return;
        }
      }
    }
  };
  watch(first);

  let disposing: Promise<void> | undefined;
  function dispose(): Promise<void> {
    disposing ??= (async () => {
      disposed = true;
      signal.removeEventListener('abort', onAbort);
      life.abort();
      const current = session;
      session = undefined;
      for (const { channel, local } of channels) {
        local.destroy();
        channel.destroy();
      }
      channels.clear();
      if (!current) return;
      current.udp?.close();
      // Cancel the forward first so the relay frees the port at once, then close (bounded: 2 s).
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 2000);
        current.client.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
        try {
          current.client.unforwardIn(options.bindAddress ?? '', current.port, () => current.client.end());
        } catch {
          current.client.end();
        }
      });
    })();
    return disposing;
  }

  const dialPublic = (dialSignal?: AbortSignal): Promise<Duplex> => {
    const current = session;
    if (!current)
      return Promise.reject(new PortholeError('E_RELAY_UNREACHABLE', { detail: 'no session to the relay now' }));
    return settleOnce<Duplex>(dialSignal, (done) => {
      current.client.forwardOut('127.0.0.1', 0, relay.host, publicPort, (error, channel) => {
        if (error) done(error);
        else done(undefined, channel);
      });
    });
  };

  events.emit('connected', { transport: first.transport, publicPort, reconnect: false });
  return {
    publicHost: relay.host,
    publicPort,
    publicAddress: `${relay.host.includes(':') ? `[${relay.host}]` : relay.host}:${publicPort}`,
    publicUdpPort,
    transport: first.transport,
    hostKey: first.hostKey,
    stats,
    events,
    dialPublic,
    dispose,
  };
}
