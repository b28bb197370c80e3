/**
 * A venue that intercepts DNS, on a running venue lab's router: every query the LAN sends to
 * port 53, whatever the server, is redirected (nftables, in a table of its own) to a dnsmasq on
 * the router that answers every name with one address (as NXDOMAIN-rewriting and hijacking
 * resolvers do), except the names it is told to answer truly.
 */
import { join } from 'node:path';
import type { Lab } from './lab.js';
import { IFACE } from './routerConfig.js';
import { PLAN } from './topology.js';

/** Where the intercepting resolver listens on the router. */
const DNS_PORT = 10053;
const TABLE = 'porthole_venue_dns';

/** A running DNS interceptor. */
export interface VenueDns {
  /** Removes the redirect and stops the resolver. */
  stop(): Promise<void>;
}

/**
 * Starts the interceptor: every name resolves to `forged`, except `truthful` names (name →
 * address). Ready when a query for a made-up name gets the forged address from the LAN.
 */
export async function startVenueDns(
  lab: Lab,
  forged: string,
  truthful: Readonly<Record<string, string>> = {},
): Promise<VenueDns> {
  const name = 'venue-dns';
  const pid = lab.startBackground('router', name, 'dnsmasq', [
    '--keep-in-foreground',
    '--conf-file=/dev/null',
    '--no-resolv',
    '--no-hosts',
    '--user=root',
    `--pid-file=${join(lab.state.dir, 'venue-dns.pid')}`,
    `--listen-address=${PLAN.routerLan}`,
    `--port=${DNS_PORT}`,
    '--bind-interfaces',
    `--address=/#/${forged}`,
    '--log-facility=-',
    ...Object.entries(truthful).map(([host, address]) => `--host-record=${host},${address}`),
  ]);
  const rules = `table ip ${TABLE} {
  chain prerouting {
    type nat hook prerouting priority dstnat - 10; policy accept;
    iifname "${IFACE.lanBridge}" meta l4proto { tcp, udp } th dport 53 redirect to :${DNS_PORT}
  }
}
`;
  const stop = async () => {
    await lab.exec('router', 'nft', ['delete', 'table', 'ip', TABLE]);
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // Already gone (the lab's teardown kills everything in its namespaces anyway).
    }
  };
  const loaded = await lab.exec('router', 'nft', ['-f', '-'], { input: rules });
  if (loaded.code !== 0) {
    await stop();
    throw new Error(`the venue DNS redirect did not load: ${loaded.stderr}`);
  }
  // Ready when a made-up name gets the forged answer from the LAN (bounded: 50 x 100 ms).
  for (let i = 0; i < 50; i++) {
    const answer = await lab.exec('lan', 'getent', ['ahostsv4', `ready-${i}.${PLAN.dnsZone}`], { timeoutMs: 3000 });
    if (answer.stdout.includes(forged)) return { stop };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await stop();
  throw new Error(`the venue DNS did not answer:\n${lab.log(name)}`);
}
