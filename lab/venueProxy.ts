/**
 * A transparent proxy on a running venue lab's router: outbound TCP to the given port, for any
 * address, is redirected (nftables, in a table of its own) to a process on the router that
 * accepts every connection, as venue proxies and portals do. It answers for hosts that do not
 * exist, which is what egress verdicts must not mistake for the host.
 */
import type { Lab } from './lab.js';
import { IFACE } from './routerConfig.js';

/** Where the proxy listens on the router. */
const PROXY_PORT = 10745;

/** A running venue proxy. */
export interface VenueProxy {
  /** The redirected outbound port. */
  readonly port: number;
  /** Removes the redirect and stops the proxy. */
  stop(): Promise<void>;
}

/** The proxy's table: its own, so removing it cannot touch the lab's rules. */
function tableName(port: number): string {
  return `porthole_venue_proxy_${port}`;
}

/**
 * Starts the proxy for `port`. Its nat chain runs before the lab's (priority dstnat - 10), so
 * the redirect wins over anything the lab's own prerouting chain would do.
 */
export async function startVenueProxy(lab: Lab, port: number): Promise<VenueProxy> {
  // Accepts, holds the connection a moment as a proxy waiting for its upstream, then closes.
  const script = `require('net').createServer((s) => { s.on('error', () => {}); setTimeout(() => s.destroy(), 3000).unref(); }).listen(${PROXY_PORT}, () => console.log('venue proxy listening'));`;
  const name = `venue-proxy-${port}`;
  const pid = await lab.startBackgroundUntil('router', name, process.execPath, ['-e', script], 'venue proxy listening');
  const table = tableName(port);
  const rules = `table ip ${table} {
  chain prerouting {
    type nat hook prerouting priority dstnat - 10; policy accept;
    iifname "${IFACE.lanBridge}" tcp dport ${port} redirect to :${PROXY_PORT}
  }
}
`;
  const loaded = await lab.exec('router', 'nft', ['-f', '-'], { input: rules });
  if (loaded.code !== 0) {
    process.kill(pid, 'SIGTERM');
    throw new Error(`the venue proxy's redirect did not load: ${loaded.stderr}`);
  }
  return {
    port,
    stop: async () => {
      await lab.exec('router', 'nft', ['delete', 'table', 'ip', table]);
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // Already gone (the lab's teardown kills everything in its namespaces anyway).
      }
    },
  };
}
