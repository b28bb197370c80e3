/**
 * The relay road: when no direct road can work (carrier NAT, a router that refuses mapping, a
 * filter upstream, two routers), a reverse tunnel through a relay for each exposed TCP port, each
 * proven from outside as the direct road is. Each tunnel is a finding of its own (`relay:P/T`), so
 * the checklist shows the relay as a hop. A tunnel cannot outlive this process: without --keep it
 * is proven, said, and closed.
 */
import type { Finding } from '../../doctor/index.js';
import type { RelayTunnel, RelayVerification } from '../../relay/index.js';
import type { Holding, RunSession } from '../session.js';
import { exposedTcpPorts } from './requests.js';
import type { OpenRoad, RelaySettings, Road, RoadReport } from './types.js';

/** One tunnel and what proved it. */
interface Tunnel {
  readonly port: number;
  readonly publicAddress: string;
  readonly verification: RelayVerification;
  readonly tunnel: RelayTunnel;
  /** The session's hold on it: undoing it closes the tunnel. */
  readonly holding: Holding;
}

/** Opens and proves a tunnel per port, each held by the session (closing it cancels its forward on the relay). */
async function openTunnels(session: RunSession, ports: readonly number[], settings: RelaySettings): Promise<Tunnel[]> {
  const tunnels: Tunnel[] = [];
  const holdings: Holding[] = [];
  // Loaded when the relay road is taken: SSH is not needed to map a port or diagnose one.
  const { openRelay, verifyRelay } = await import('../../relay/index.js');
  try {
    for (const port of ports) {
      const tunnel = await openRelay({
        url: settings.url,
        localPort: port,
        dataDir: settings.dataDir,
        ...(settings.proxyProtocol ? { proxyProtocol: settings.proxyProtocol } : {}),
        ...(settings.identityFile ? { identityFile: settings.identityFile } : {}),
        ...session.abort,
      });
      const holding = session.hold(`relay tunnel ${tunnel.publicAddress} -> ${port}/tcp`, () => tunnel.dispose());
      holdings.push(holding);
      const verification = await verifyRelay(tunnel.publicAddress, { localPort: port, tunnel, ...session.abort });
      tunnels.push({ port, publicAddress: tunnel.publicAddress, verification, tunnel, holding });
    }
    return tunnels;
  } catch (error) {
    for (const holding of holdings) await holding.undo().catch(() => {});
    throw error;
  }
}

/** The relay hop as the doctor's findings: ok only when the public port is proven to reach this host. */
export function relayFindings(tunnels: readonly Tunnel[]): Finding[] {
  return tunnels.map(({ verification, port, publicAddress }) => {
    const proven = verification.state === 'open' && verification.verified === true;
    return {
      id: `relay:${port}/tcp`,
      status: proven ? 'ok' : verification.state === 'open' ? 'warn' : 'fail',
      summary: proven
        ? `reachable via the relay at ${publicAddress}, proven to reach this host (${verification.method})`
        : verification.state === 'open'
          ? `the relay's port ${publicAddress} is open, but not proven to reach this computer`
          : `the relay's port ${publicAddress} is ${verification.state} from outside`,
      evidence: [
        verification.evidence,
        `checked from ${verification.from === 'here' ? 'this network' : 'the relay itself'}`,
      ],
      fix: proven
        ? null
        : 'The relay does not forward its public port to this tunnel: check the relay allows remote forwarding on public addresses (OpenSSH: GatewayPorts clientspecified).',
      cause: null,
      ms: 0,
    };
  });
}

/** The relay road. */
export const relayRoad: Road = {
  name: 'relay',
  usable: async ({ request }) =>
    request.relay ? { usable: true } : { usable: false, why: 'no relay is configured (--relay or relay.url)' },
  async open(context): Promise<OpenRoad> {
    const { session, request } = context;
    const settings = request.relay as RelaySettings;
    const started = performance.now();
    const tunnels = await openTunnels(session, exposedTcpPorts(request.manifest.entries), settings);
    const because = settings.only
      ? 'asked for (--relay-only)'
      : context.before.map((b) => b.because).join('; ') || 'no direct road could be used';
    const give = () => tunnels.map((t) => t.publicAddress);
    // What did not fail on the roads before (the host, the name) stays beside the relay's findings.
    const carried = context.before.at(-1)?.report?.findings.filter((f) => f.status !== 'fail') ?? [];
    const close = async () => {
      for (const t of tunnels) await t.holding.undo();
    };
    return {
      async verify(): Promise<RoadReport> {
        const reachable = tunnels.length > 0 && tunnels.every((t) => t.verification.verified === true);
        return {
          reachable,
          publicAddress: tunnels[0]?.publicAddress ?? null,
          lanAddress: null,
          findings: [...carried, ...relayFindings(tunnels)],
          changes: [],
          ms: Math.round(performance.now() - started),
        };
      },
      closedBecause: () => undefined,
      async keep(report) {
        session.progress({ kind: 'relay', reachable: report.reachable, because, give: report.reachable ? give() : [] });
        for (const t of tunnels) {
          t.tunnel.events.on('connected', () =>
            session.progress({ kind: 'relay-connected', publicAddress: t.publicAddress }),
          );
          t.tunnel.events.on('disconnected', (info) =>
            session.progress({ kind: 'relay-disconnected', publicAddress: t.publicAddress, ...info }),
          );
        }
        await new Promise<void>((resolve) => {
          if (!session.signal || session.signal.aborted) resolve();
          else session.signal.addEventListener('abort', () => resolve(), { once: true });
        });
        await close();
        return report;
      },
      // Without --keep the tunnel cannot outlive this process: it was proven, and is closed.
      leave: close,
      close,
      outcome: (report, kept) => ({
        mode: 'relay',
        family: 4,
        mappings: [],
        relays: tunnels.map((t) => ({
          port: t.port,
          publicAddress: t.publicAddress,
          verified: t.verification.verified,
        })),
        portChanges: [],
        firewall: null,
        // Only what was proven, and only while it is open: without keep the tunnel is closed by now.
        give: kept && report.reachable ? tunnels.map((t) => `${t.publicAddress} (for ${t.port}/tcp)`) : [],
        notes: [
          `Went through the relay: ${because}.`,
          ...(!kept ? ['The tunnel was proven and closed: run with --keep to keep it open for users.'] : []),
        ],
      }),
    };
  },
};
