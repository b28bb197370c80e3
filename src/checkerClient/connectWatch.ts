/**
 * The checker's TCP handshake, checked apart from the request. fetch() waits 10 s for a
 * connection (undici's connect timeout) and then only says "connect timeout": on a venue that
 * drops the checker's port, that is a long wait for an unhelpful answer. A plain connection
 * first settles the question in a few seconds (one round trip when the port is open) and names
 * the port, so the error can say what to do (serve the checker on a port venues let out).
 */
import { Socket } from 'node:net';
import { settleOnce } from '../deadline/index.js';

/** How long the checker's handshake may take: a dropped port is told from a slow checker in 3 s. */
export const CHECKER_CONNECT_TIMEOUT_MS = 3000;

/** Why the checker's port could not be connected to. */
export interface ConnectFailure {
  /** `ETIMEDOUT` (no answer: dropped on the way), `ECONNREFUSED`, `EHOSTUNREACH`, `ENOTFOUND`, ... */
  readonly code: string;
  readonly port: number;
  /** The socket's own error, kept as the cause (`--verbose` prints it). */
  readonly error?: Error;
}

/** The port a URL connects to. */
export function portOf(url: URL): number {
  return url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
}

/**
 * Opens (and closes at once) a TCP connection to the URL's host and port. Resolves undefined
 * when it opens or when `signal` aborts (the caller's own error then takes over), the failure
 * otherwise; never rejects.
 */
export function watchConnect(
  url: URL,
  timeoutMs: number,
  signal: AbortSignal,
  family?: 4 | 6,
): Promise<ConnectFailure | undefined> {
  const port = portOf(url);
  const socket = new Socket();
  let timer: NodeJS.Timeout | undefined;
  return settleOnce<ConnectFailure | undefined>(
    signal,
    (done) => {
      timer = setTimeout(() => done(undefined, { code: 'ETIMEDOUT', port }), timeoutMs);
      socket.once('connect', () => done(undefined, undefined));
      socket.once('error', (error: NodeJS.ErrnoException) =>
        done(undefined, { code: error.code ?? 'ECONNECT', port, error }),
      );
      socket.connect({ host: url.hostname.replace(/^\[|\]$/g, ''), port, ...(family ? { family } : {}) });
    },
    () => {
      clearTimeout(timer);
      socket.removeAllListeners();
      socket.on('error', () => {});
      socket.destroy();
    },
  ).catch(() => undefined);
}

/** The hint for a checker whose port could not be reached: what to check, and what venues let out. */
export function unreachableHint(url: URL, code: string | undefined): string | undefined {
  const port = portOf(url);
  const webPort = port === 80 || port === 443;
  const move = `the network may block port ${port} outbound; run the checker on 443 or 80 (porthole serve --listen 0.0.0.0:443)`;
  if (code === 'ETIMEDOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') {
    return webPort
      ? `Nothing answered on ${url.host}: check that the host is up and that porthole serve runs there.`
      : `Nothing answered on port ${port}: ${move}.`;
  }
  if (code === 'ECONNREFUSED') {
    return `Port ${port} on ${url.hostname} refused the connection: is porthole serve running there?${webPort ? '' : ` If it is, ${move}.`}`;
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return `The name ${url.hostname} did not resolve: check the URL, or give the checker's address.`;
  }
  return undefined;
}
