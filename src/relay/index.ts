/**
 * Public face of src/relay: reverse tunnels over SSH (RFC 4254 remote forwarding).
 *
 * - {@link openRelay}: the client, against OpenSSH sshd, `porthole relay serve`, or any RFC 4254 relay.
 * - {@link verifyRelay}: proves the public port reaches this machine.
 * - {@link createRelayServer}: the multi-tenant relay behind `porthole relay serve`.
 */

export { type OpenRelayOptions, openRelay, type RelayEvents, type RelayTunnel } from './client.js';
export { createLogger, type LogLevel, type RelayLogger } from './log.js';
export {
  decodeProxyHeader,
  encodeProxyHeader,
  type ProxiedConnection,
  type ProxyHeader,
  type ProxyProtocolVersion,
} from './proxyProtocol.js';
export { createRelayServer, type RelayServer, type RelayServerOptions } from './server.js';
export { loadTenants, parseTenants, type Tenant } from './tenants.js';
export { defaultTransports, parseProxyUrl, type RelayTransport } from './transport.js';
export { parseRelayUrl, type RelayUrl } from './url.js';
export { notPublicError, type RelayVerification, type VerifyRelayOptions, verifyRelay } from './verify.js';
