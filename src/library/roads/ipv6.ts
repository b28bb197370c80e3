/**
 * The IPv6 road: a pinhole per exposed port in the router's IPv6 firewall (PCP, then UPnP
 * IGDv2), proven from outside over IPv6 by the checker's connection seen here. Taken when asked
 * (--family ipv6) or when the IPv4 road cannot work (carrier NAT, most often) and this host has a
 * global IPv6 address. The address to give users is this host's own, in brackets.
 */
import { checkerEndpoints, requestCheck } from '../../checkerClient/index.js';
import type { Finding } from '../../doctor/index.js';
import { provePeers } from '../../probe/index.js';
import { type HeldMapping, holdMapping } from '../heldMapping.js';
import type { RunSession } from '../session.js';
import { requestsOf } from './requests.js';
import type { ExposeRequest, OpenRoad, Road, RoadContext, RoadReport } from './types.js';

/** Whether this host has a global IPv6 address: the IPv6 road is possible only then. */
export function hasGlobalIpv6(session: RunSession): boolean {
  // Documentation addresses (2001:db8::/32) count: they never appear on a real network, and labs use them.
  return session.host
    .addresses()
    .some((iface) =>
      iface.addresses.some((a) => a.family === 6 && (a.class === 'public' || a.class === 'documentation')),
    );
}

/** Findings that did not fail on the roads before (the host, the name...), kept beside this road's. */
function carriedFindings(context: RoadContext): Finding[] {
  const last = context.before.at(-1)?.report;
  return last ? last.findings.filter((f) => f.status !== 'fail') : [];
}

/** Asks the checker over IPv6 to probe the pinholes' ports, and proves identity by connection. */
async function proveIpv6(
  session: RunSession,
  request: ExposeRequest,
  held: readonly HeldMapping[],
): Promise<Finding[]> {
  const mappings = held.map((h) => h.mapping);
  if (!request.checker) {
    return mappings.map((mapping) => ({
      id: `outside-in:${mapping.internalPort}/${mapping.protocol}/ipv6`,
      status: 'skip' as const,
      summary: 'check from outside over IPv6: not checked (no checker)',
      evidence: [],
      fix: null,
      cause: null,
      ms: 0,
    }));
  }
  const started = performance.now();
  const [endpoint] = await checkerEndpoints(request.checker, {
    checker6: request.checker6,
    family: 'ipv6',
    ...session.abort,
  });
  const spec = mappings.map((mapping) => `${mapping.internalPort}/${mapping.protocol}`).join(',');
  const response = await requestCheck(endpoint?.url ?? request.checker, spec, undefined, {
    family: 6,
    ...session.abort,
  });
  const proven = await provePeers(response.results, (ports) => session.host.connections(ports, session.abort));
  const ms = Math.round(performance.now() - started);
  return proven.results.map((result, index) => {
    const at = `[${response.target}]:${result.port}/${result.protocol}`;
    const ok = result.state === 'open' && result.verified === true;
    return {
      id: `outside-in:${result.port}/${result.protocol}/ipv6`,
      status: ok ? ('ok' as const) : result.state === 'open' ? ('warn' as const) : ('fail' as const),
      summary: ok
        ? `reachable from the internet over IPv6 at ${at}, proven to reach this host`
        : result.state === 'open'
          ? `${at} is open over IPv6, but not proven to reach this computer`
          : `not reachable over IPv6 at ${at} (${result.state})`,
      evidence: [`checker probed ${at}: ${result.state} (${result.reason})`, proven.identities[index]?.evidence ?? ''],
      fix: ok
        ? null
        : 'The pinhole was granted but the port is not reached: check the server listens on IPv6 (::) and the host firewall admits it.',
      cause: ok ? null : ('upstream-filter' as const),
      ms,
    };
  });
}

/** The IPv6 road. */
export const ipv6Road: Road = {
  name: 'ipv6',
  async usable({ session, request }) {
    if (request.family === 'ipv4') return { usable: false, why: 'IPv4 only was asked for (--family ipv4)' };
    // Asked for or not: without a global address of its own, no pinhole can make this host reachable.
    return hasGlobalIpv6(session) ? { usable: true } : { usable: false, why: 'this host has no global IPv6 address' };
  },
  async open(context): Promise<OpenRoad> {
    const { session, request } = context;
    const held: HeldMapping[] = [];
    try {
      for (const asked of requestsOf(request.manifest.entries)) {
        held.push(
          await holdMapping(
            session,
            { ...asked, external: undefined, lifetimeSeconds: request.lifetimeSeconds, family: 6 },
            request.via && request.via !== 'natpmp' ? { via: request.via } : {},
          ),
        );
      }
    } catch (error) {
      // Nothing half-made stays unsaid: pinholes made so far go; one that cannot go stays held.
      for (const made of held.reverse()) await made.remove().catch(() => {});
      throw error;
    }
    const address = held[0]?.mapping.internalAddress;
    const give = () =>
      held.map(({ mapping }) => `[${mapping.internalAddress}]:${mapping.internalPort}/${mapping.protocol}`);
    const because =
      request.family === 'ipv6'
        ? 'asked for (--family ipv6)'
        : context.before.map((b) => b.because).join('; ') || 'IPv4 could not be used';
    return {
      async verify(): Promise<RoadReport> {
        const started = performance.now();
        const findings = [...carriedFindings(context), ...(await proveIpv6(session, request, held))];
        const reachable =
          held.length > 0 && findings.filter((f) => f.id.startsWith('outside-in:')).every((f) => f.status === 'ok');
        return {
          reachable,
          publicAddress: address ? `[${address}]` : null,
          lanAddress: address ?? null,
          findings,
          changes: [],
          ms: Math.round(performance.now() - started),
        };
      },
      closedBecause: (report) =>
        report.reachable ? undefined : 'the IPv6 pinholes were not reached from outside over IPv6',
      async keep(report) {
        session.progress({
          kind: 'verified',
          reachable: report.reachable,
          publicAddress: report.publicAddress,
          family: 6,
          give: report.reachable ? give() : [],
        });
        const kept = await Promise.all(held.map((h) => h.keep()));
        for (const ending of kept.filter((k) => !k.removed))
          session.leftBehind(
            `pinhole [${ending.mapping.internalAddress}]:${ending.mapping.internalPort}/${ending.mapping.protocol}`,
            ending.why ?? 'the router did not confirm the removal',
            ending.mapping,
          );
        return report;
      },
      async leave() {
        // Without --keep the pinholes stay by design (recorded in the state file).
        for (const h of held) h.leave();
      },
      async close() {
        for (const h of held) await h.remove().catch(() => {});
      },
      outcome: (report) => ({
        mode: 'direct',
        family: 6,
        mappings: held.map((h) => h.mapping),
        relays: [],
        portChanges: [],
        firewall: null,
        give: report.reachable ? give() : [],
        notes: [
          `Opened over IPv6 (a pinhole): ${because}. Users need IPv6 to connect; give them the address in brackets, or an AAAA record for your name.`,
        ],
      }),
    };
  },
};
