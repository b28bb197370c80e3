/**
 * The byte streams SSH can run over, for networks that do not let port 22 out: a direct TCP
 * connection, a tunnel through an HTTP proxy (CONNECT), and WebSocket to porthole's relay
 * (which tells SSH from WebSocket by the first bytes on the same port). Each returns a stream
 * ready for ssh2's `sock`; nothing is left open on failure or abort.
 */
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { settleOnce, withDeadline } from '../deadline/index.js';
import { PortholeError } from '../errors/index.js';
import { decodeHttpHead, encodeWsUpgradeRequest, newWsKey, wsAcceptFor } from './wsCodec.js';
import { WsStream } from './wsStream.js';

/** One way to reach the relay. */
export type RelayTransport =
  | { readonly kind: 'direct' }
  | { readonly kind: 'http-proxy'; readonly proxy: string }
  | { readonly kind: 'websocket'; readonly port: number; readonly proxy?: string };

/**
 * WebSocket is tried on the web ports, the ones locked-down venues let out (seed 002's "Relay
 * Remote Viewing TCP: port 80"); porthole's relay answers them when it listens there.
 */
export const DEFAULT_WEBSOCKET_PORTS: readonly number[] = [443, 80];
/** How long one transport gets to deliver a stream before the next is tried. */
export const TRANSPORT_DEADLINE_MS = 5000;

/** A short name for logs and JSON: `direct`, `http-proxy`, `websocket:80`. */
export function transportName(transport: RelayTransport): string {
  return transport.kind === 'websocket' ? `websocket:${transport.port}` : transport.kind;
}

/** Parses `http://[user:pass@]host:port` (HTTPS_PROXY's usual form). */
export function parseProxyUrl(text: string): { host: string; port: number; authorization?: string } {
  let url: URL;
  try {
    url = new URL(text.includes('://') ? text : `http://${text}`);
  } catch (error) {
    throw new PortholeError('E_USAGE', { detail: `proxy "${text}" is not a URL`, cause: error });
  }
  if (url.protocol !== 'http:') {
    throw new PortholeError('E_USAGE', { detail: `proxy "${text}": only http:// proxies speak CONNECT here` });
  }
  const authorization = url.username
    ? `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`
    : undefined;
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port ? Number(url.port) : 80,
    ...(authorization ? { authorization } : {}),
  };
}

/** A TCP connection, settled once: connected, refused, or aborted. */
function connectTcp(host: string, port: number, signal: AbortSignal): Promise<Socket> {
  let socket: Socket | undefined;
  let connected = false;
  return settleOnce<Socket>(
    signal,
    (done) => {
      socket = connect({ host, port });
      socket.once('connect', () => {
        connected = true;
        done(undefined, socket);
      });
      socket.once('error', (error) => done(error));
    },
    () => {
      if (!connected) socket?.destroy();
      socket?.removeAllListeners('connect');
      socket?.removeAllListeners('error');
    },
  );
}

/** An HTTP answer head and the bytes that followed it. */
interface HttpAnswer {
  readonly status: number;
  readonly headers: ReadonlyMap<string, string>;
  readonly rest: Buffer;
}

/**
 * Sends `request` and reads an HTTP answer head; resolves with the head's status and the bytes
 * after it. The socket is destroyed on every failure.
 */
function exchangeHead(socket: Socket, request: string, signal: AbortSignal): Promise<HttpAnswer> {
  let buffered = Buffer.alloc(0);
  let answered = false;
  return settleOnce<HttpAnswer>(
    signal,
    (done) => {
      socket.on('data', (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        let head: ReturnType<typeof decodeHttpHead>;
        try {
          head = decodeHttpHead(buffered);
        } catch (error) {
          done(error as Error); // Longer than any proxy or WebSocket answer head.
          return;
        }
        if (!head) return;
        socket.pause();
        answered = true;
        const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head.startLine)?.[1] ?? 0);
        done(undefined, { status, headers: head.headers, rest: buffered.subarray(head.length) });
      });
      socket.once('error', (error) => done(error));
      socket.once('close', () =>
        done(new PortholeError('E_RELAY_UNREACHABLE', { detail: 'the peer closed the connection before answering' })),
      );
      socket.write(request);
    },
    () => {
      socket.removeAllListeners('data');
      socket.removeAllListeners('error');
      socket.removeAllListeners('close');
      if (!answered) socket.destroy();
    },
  );
}

/** Opens a CONNECT tunnel to host:port through the proxy; E_RELAY_PROXY when the proxy says no. */
async function connectThroughProxy(
  proxyText: string,
  host: string,
  port: number,
  signal: AbortSignal,
): Promise<Socket> {
  const proxy = parseProxyUrl(proxyText);
  const socket = await connectTcp(proxy.host, proxy.port, signal);
  const target = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const request = [
    `CONNECT ${target} HTTP/1.1`,
    `Host: ${target}`,
    ...(proxy.authorization ? [`Proxy-Authorization: ${proxy.authorization}`] : []),
    '',
    '',
  ].join('\r\n');
  let answer: HttpAnswer;
  try {
    answer = await exchangeHead(socket, request, signal);
  } catch (error) {
    throw new PortholeError('E_RELAY_PROXY', { detail: `${proxyText}: ${(error as Error).message}`, cause: error });
  }
  if (answer.status !== 200) {
    socket.destroy();
    throw new PortholeError('E_RELAY_PROXY', { detail: `${proxyText} answered ${answer.status} to CONNECT ${target}` });
  }
  if (answer.rest.length > 0) socket.unshift(answer.rest);
  socket.resume();
  return socket;
}

/** Opens a WebSocket to porthole's relay and returns the stream of its binary payloads. */
async function connectWebSocket(
  host: string,
  port: number,
  proxy: string | undefined,
  signal: AbortSignal,
): Promise<Duplex> {
  const socket = proxy ? await connectThroughProxy(proxy, host, port, signal) : await connectTcp(host, port, signal);
  const key = newWsKey();
  const answer = await exchangeHead(socket, encodeWsUpgradeRequest(`${host}:${port}`, key), signal);
  if (answer.status !== 101 || answer.headers.get('sec-websocket-accept') !== wsAcceptFor(key)) {
    socket.destroy();
    throw new PortholeError('E_RELAY_UNREACHABLE', {
      detail: `${host}:${port} did not accept a WebSocket upgrade (HTTP ${answer.status})`,
    });
  }
  const stream = new WsStream(socket, 'client', answer.rest);
  socket.resume();
  return stream;
}

/** Opens one transport to the relay within TRANSPORT_DEADLINE_MS. */
export async function openTransport(
  transport: RelayTransport,
  host: string,
  port: number,
  signal: AbortSignal,
): Promise<Duplex> {
  const deadline = withDeadline(signal, TRANSPORT_DEADLINE_MS, `${transportName(transport)} to ${host}`);
  switch (transport.kind) {
    case 'direct':
      return connectTcp(host, port, deadline);
    case 'http-proxy':
      return connectThroughProxy(transport.proxy, host, port, deadline);
    case 'websocket':
      return connectWebSocket(host, transport.port, transport.proxy, deadline);
  }
}

/**
 * The transports to try, in order: direct SSH; through the HTTP proxy when one is named
 * (--proxy or HTTPS_PROXY); then WebSocket on each of `webSocketPorts`.
 */
export function defaultTransports(options: {
  proxy?: string | undefined;
  webSocketPorts?: readonly number[] | undefined;
}): RelayTransport[] {
  const transports: RelayTransport[] = [{ kind: 'direct' }];
  if (options.proxy) transports.push({ kind: 'http-proxy', proxy: options.proxy });
  for (const port of options.webSocketPorts ?? DEFAULT_WEBSOCKET_PORTS) transports.push({ kind: 'websocket', port });
  return transports;
}
