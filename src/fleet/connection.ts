/** Connecting to NATS as a fleet member: credentials from a file, TLS when asked, quick reconnects. */
import { readFileSync } from 'node:fs';
import {
  type Authenticator,
  connect,
  credsAuthenticator,
  type NatsConnection,
  nkeyAuthenticator,
  usernamePasswordAuthenticator,
} from '@nats-io/transport-node';
import { type AbortOptions, throwIfAborted } from '../deadline/index.js';
import { PortholeError } from '../errors/index.js';
import { isIpLiteral } from '../net/index.js';
import { parseNatsCredentials } from './auth.js';

/** How to reach NATS. */
export interface NatsSettings {
  /** `nats://host:4222` or `tls://host:4222`; several separated by commas. */
  readonly servers: string;
  /** A file with an nkey seed, a .creds file, or `user:password`. */
  readonly authFile?: string;
  /** CA bundle (PEM) that signed the server's certificate; implies TLS. */
  readonly caFile?: string;
  /** How the connection names itself in the server's monitoring (`porthole-vantage-eu1`). */
  readonly name: string;
}

/** Between reconnect attempts: short, so a restarted nats-server costs the fleet well under a second. */
const RECONNECT_WAIT_MS = 250;
/** The first connection must succeed within this; afterwards the client reconnects forever. */
const CONNECT_TIMEOUT_MS = 5_000;

/**
 * @nats-io/transport-node 3.4 upgrades the socket to TLS with an empty servername when the
 * server is an IP address and passes no host, so Node checks the certificate against
 * "localhost". Naming the address makes Node check the certificate's IP SANs instead.
 */
function tlsHost(servers: readonly string[]): { host?: string } {
  if (servers.length !== 1) return {};
  try {
    const host = new URL((servers[0] as string).replace(/^tls:/, 'nats:')).hostname.replace(/^\[|\]$/g, '');
    return isIpLiteral(host) ? { host } : {};
  } catch {
    return {};
  }
}

function authenticatorOf(path: string): Authenticator {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new PortholeError('E_FLEET_AUTH_FILE', { detail: `${path}: ${(error as Error).message}`, cause: error });
  }
  const credentials = parseNatsCredentials(text, path);
  switch (credentials.kind) {
    case 'nkey':
      return nkeyAuthenticator(new TextEncoder().encode(credentials.seed));
    case 'creds':
      return credsAuthenticator(new TextEncoder().encode(credentials.text));
    default:
      return usernamePasswordAuthenticator(credentials.user, credentials.password);
  }
}

/** Connects; throws E_FLEET_NATS (unreachable, refused credentials, TLS) with the server's reason. */
export async function connectFleet(settings: NatsSettings, options: AbortOptions = {}): Promise<NatsConnection> {
  throwIfAborted(options.signal);
  const servers = settings.servers.split(',').map((server) => server.trim());
  const tls = settings.caFile || servers.some((server) => server.startsWith('tls://'));
  try {
    return await connect({
      servers,
      name: settings.name,
      timeout: CONNECT_TIMEOUT_MS,
      reconnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: RECONNECT_WAIT_MS,
      reconnectJitter: 50,
      ...(settings.authFile ? { authenticator: authenticatorOf(settings.authFile) } : {}),
      ...(tls ? { tls: { ...(settings.caFile ? { caFile: settings.caFile } : {}), ...tlsHost(servers) } } : {}),
    });
  } catch (error) {
    if (error instanceof PortholeError) throw error;
    const message = (error as Error).message;
    throw new PortholeError('E_FLEET_NATS', {
      detail: `${settings.servers}: ${message}`,
      ...(/authoriz|authenticat/i.test(message)
        ? { hint: 'The server refused these credentials: check --nats-auth against the user in nats-server.conf.' }
        : {}),
      cause: error,
    });
  }
}
