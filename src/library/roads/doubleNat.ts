/**
 * The double-NAT road: when the direct road ends at double NAT (a provider's modem-router in front
 * of the home router) and the router in front answers UPnP IGD, NAT-PMP or PCP, map on both: the
 * outer router's public port to the home router's WAN address, the home router's to this host.
 * The pair is proven from outside by the doctor (through both routers), kept together and undone
 * together. No tool people use today does this; the doctor's fix by hand is the same two forwards.
 */
import { PortholeError } from '../../errors/index.js';
import { holdFirewall } from '../heldFirewall.js';
import { type HeldPair, holdPair, outerGatewayOf } from '../outerMapping.js';
import { directRoadClosed, mappedRoad, portChangesOf } from './direct.js';
import { requestsOf } from './requests.js';
import type { OpenRoad, Road, RoadContext } from './types.js';

/** The router in front, as the direct road's check found it (from the path), when it ended at double NAT. */
function outerFrom(context: RoadContext): string | undefined {
  const direct = context.before.find((tried) => tried.road === 'direct');
  const report = direct?.report;
  if (!report?.outerRouter) return undefined;
  return report.findings.some((f) => f.cause === 'double-nat') ? report.outerRouter : undefined;
}

/** The double-NAT road. */
export const doubleNatRoad: Road = {
  name: 'double-nat',
  async usable(context) {
    const outer = outerFrom(context);
    if (!outer)
      return { usable: false, why: 'the direct road did not end at a double NAT with a router seen in front' };
    try {
      await outerGatewayOf(context.session, outer);
      return { usable: true };
    } catch (error) {
      return { usable: false, why: `the router in front (${outer}): ${(error as Error).message}` };
    }
  },
  async open(context): Promise<OpenRoad> {
    const { session, request } = context;
    const outer = outerFrom(context);
    if (!outer) throw new PortholeError('E_NO_GATEWAY', { detail: 'no router in front was found' });
    const asked = requestsOf(request.manifest.entries);
    const pairs: HeldPair[] = [];
    const firewall = request.openFirewall ? await holdFirewall(session, request.manifest) : undefined;
    try {
      for (const one of asked)
        pairs.push(
          await holdPair(
            session,
            { ...one, lifetimeSeconds: request.lifetimeSeconds },
            outer,
            request.via ? { via: request.via } : {},
          ),
        );
    } catch (error) {
      // Nothing half made stays: each pair made goes, outer first.
      for (const pair of pairs) {
        await pair.outer.remove().catch(() => {});
        await pair.inner.remove().catch(() => {});
      }
      await firewall?.remove().catch(() => {});
      throw error;
    }
    const outers = pairs.map((pair) => pair.outer);
    return mappedRoad(context, {
      held: pairs.flatMap((pair) => [pair.inner, pair.outer]),
      firewall,
      publicMappings: () => outers.map((h) => h.mapping),
      portChanges: portChangesOf(outers, asked),
      // After this road, only the relay: it is left for it only when even both mappings cannot work.
      // A check that still ends at double NAT is the direct road's verdict; any other closure is this road's.
      closedBecause: (report) => {
        const closed = directRoadClosed(report);
        return closed && !report.findings.some((f) => f.cause === 'double-nat')
          ? closed.replace('direct IPv4 road', 'double-NAT road')
          : closed;
      },
      notes: [
        `Mapped on both routers: the one in front (${outer}) forwards to your router's WAN address, your router to this host.`,
      ],
    });
  },
};
