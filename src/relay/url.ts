/** Relay URLs: `ssh://USER[:TOKEN]@HOST[:PORT]`, parsed into what the client dials. */
import { PortholeError } from '../errors/index.js';

/** SSH's registered port. */
export const DEFAULT_SSH_PORT = 22;

/** A parsed relay URL. */
export interface RelayUrl {
  readonly user: string;
  readonly host: string;
  readonly port: number;
  /** A token for password authentication (porthole relay tenants), when the URL carries one. */
  readonly token?: string;
  /** The URL without the token, for logs and output. */
  readonly display: string;
}

/** Parses a relay URL; throws E_RELAY_URL naming what is wrong. */
export function parseRelayUrl(text: string): RelayUrl {
  let url: URL;
  try {
    url = new URL(text);
  } catch (error) {
    throw new PortholeError('E_RELAY_URL', { detail: `"${text}" is not a URL`, cause: error });
  }
  if (url.protocol !== 'ssh:') {
    throw new PortholeError('E_RELAY_URL', { detail: `"${text}" has scheme ${url.protocol} (expected ssh:)` });
  }
  const user = decodeURIComponent(url.username);
  if (!user) throw new PortholeError('E_RELAY_URL', { detail: `"${text}" names no user (ssh://USER@HOST)` });
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!host) throw new PortholeError('E_RELAY_URL', { detail: `"${text}" names no host` });
  if ((url.pathname && url.pathname !== '/') || url.search || url.hash) {
    throw new PortholeError('E_RELAY_URL', { detail: `"${text}" has a path or query; a relay URL has none` });
  }
  const port = url.port ? Number(url.port) : DEFAULT_SSH_PORT;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new PortholeError('E_RELAY_URL', { detail: `"${text}" has port ${url.port}` });
  }
  const token = url.password ? decodeURIComponent(url.password) : undefined;
  const hostText = host.includes(':') ? `[${host}]` : host;
  const display = `ssh://${user}@${hostText}${port === DEFAULT_SSH_PORT ? '' : `:${port}`}`;
  return { user, host, port, display, ...(token ? { token } : {}) };
}
