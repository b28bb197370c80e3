/** The relay's Prometheus metrics (prom-client), and the small HTTP server that exposes them. */
import { createServer, type Server } from 'node:http';
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';

/** What the relay counts. */
export interface RelayMetrics {
  readonly registry: Registry;
  readonly sessions: Gauge<'tenant'>;
  readonly tunnels: Gauge<'tenant' | 'protocol'>;
  readonly connections: Counter<'tenant'>;
  readonly openConnections: Gauge<'tenant'>;
  readonly bytes: Counter<'tenant' | 'direction'>;
  readonly refusals: Counter<'reason'>;
}

/** A fresh registry with process metrics and the relay's own. */
export function createRelayMetrics(): RelayMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'porthole_relay_' });
  const registers = [registry];
  return {
    registry,
    sessions: new Gauge({
      name: 'porthole_relay_sessions',
      help: 'SSH sessions logged in',
      labelNames: ['tenant'],
      registers,
    }),
    tunnels: new Gauge({
      name: 'porthole_relay_tunnels',
      help: 'Public ports bound for tenants',
      labelNames: ['tenant', 'protocol'],
      registers,
    }),
    connections: new Counter({
      name: 'porthole_relay_connections_total',
      help: 'Visitor connections carried',
      labelNames: ['tenant'],
      registers,
    }),
    openConnections: new Gauge({
      name: 'porthole_relay_open_connections',
      help: 'Visitor connections open now',
      labelNames: ['tenant'],
      registers,
    }),
    bytes: new Counter({
      name: 'porthole_relay_bytes_total',
      help: 'Bytes carried, by direction (in: visitor to tenant)',
      labelNames: ['tenant', 'direction'],
      registers,
    }),
    refusals: new Counter({
      name: 'porthole_relay_refusals_total',
      help: 'Logins, forwards and connections refused, by reason',
      labelNames: ['reason'],
      registers,
    }),
  };
}

/** Serves GET /metrics on host:port; resolves once listening. */
export function serveMetrics(registry: Registry, host: string, port: number): Promise<Server> {
  const server = createServer((request, response) => {
    if (request.method !== 'GET' || request.url !== '/metrics') {
      response.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
      () => response.writeHead(500).end(),
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
