/**
 * The direct road: a port mapping on this host's router for each exposed entry (a range takes
 * the first free external port of the range), the host firewall opened when asked, proven from
 * outside by the doctor. Kept, the mappings are renewed and re-made after a router restart, and
 * the path is re-verified on an interval (a failed check wakes the keepers at once).
 */
import { sleepOrWake } from '../../deadline/index.js';
import type { Cause } from '../../doctor/index.js';
import type { Mapping } from '../../gateway/index.js';
import { classifyAddress } from '../../net/index.js';
import { diagnoseIn } from '../diagnose.js';
import { type HeldFirewall, holdFirewall } from '../heldFirewall.js';
import { describeMapping, type HeldMapping, holdMapping } from '../heldMapping.js';
import { requestsOf } from './requests.js';
import type { OpenRoad, Road, RoadContext, RoadOutcome, RoadReport } from './types.js';

/** The causes after which a direct road cannot work, whatever is set here: another road is the way. */
export const DIRECT_ROAD_CLOSED: ReadonlySet<Cause> = new Set<Cause>([
  'cgnat',
  'router-refuses-mapping',
  'upstream-filter',
  'double-nat',
  'refused-on-path',
]);

/** Why the direct road cannot work here, from the doctor's causes; undefined when it might. */
export function directRoadClosed(report: RoadReport): string | undefined {
  const closed = report.findings.filter((f) => f.status === 'fail' && f.cause && DIRECT_ROAD_CLOSED.has(f.cause));
  return report.reachable || closed.length === 0
    ? undefined
    : `the direct IPv4 road cannot work here (${[...new Set(closed.map((f) => f.cause))].join(', ')})`;
}

/** Address classes no one on the internet can connect to (the lab's documentation ranges stand in for public ones). */
const NOT_REACHABLE_FROM_INTERNET = new Set(['private', 'cgnat', 'loopback', 'link-local', 'unspecified', 'multicast']);

/**
 * The addresses to give users for mappings on a public address. Never a private or carrier-grade
 * one: a router told to allow a private WAN reports it as its external address (miniupnpd with
 * ext_allow_private_ipv4, most routers behind a provider's modem), and nothing on the internet can
 * reach it.
 */
export function giveFor(publicAddress: string | null, mappings: readonly Mapping[]): string[] {
  return publicAddress && !NOT_REACHABLE_FROM_INTERNET.has(classifyAddress(publicAddress))
    ? mappings.map((m) => `${publicAddress}:${m.externalPort}/${m.protocol}`)
    : [];
}

/** Opens the mappings (and the firewall), undoing what was made when a later one fails. */
async function openMappings(
  context: RoadContext,
): Promise<{ held: HeldMapping[]; firewall: HeldFirewall | undefined }> {
  const { session, request } = context;
  const held: HeldMapping[] = [];
  let firewall: HeldFirewall | undefined;
  try {
    if (request.openFirewall) firewall = await holdFirewall(session, request.manifest);
    for (const asked of requestsOf(request.manifest.entries)) {
      held.push(
        await holdMapping(
          session,
          { ...asked, lifetimeSeconds: request.lifetimeSeconds },
          request.via ? { via: request.via } : {},
        ),
      );
    }
    return { held, firewall };
  } catch (error) {
    // Nothing half-made stays: what was made goes now; what cannot go stays held by the session,
    // which names it (leftBehind) when the run ends.
    for (const made of held.reverse()) await made.remove().catch(() => {});
    await firewall?.remove().catch(() => {});
    throw error;
  }
}

/** What a mapping road made, and how its users reach it. */
export interface MappedRoad {
  readonly held: readonly HeldMapping[];
  readonly firewall: HeldFirewall | undefined;
  /** The mappings whose external ports users connect to (the outer router's, behind a double NAT). */
  readonly publicMappings: () => Mapping[];
  readonly portChanges: RoadOutcome['portChanges'];
  readonly closedBecause: (report: RoadReport) => string | undefined;
  /** Sentences about the road for the person, besides the port changes and leases. */
  readonly notes?: readonly string[];
}

/**
 * A road of router mappings, opened: verified from outside by the doctor; kept (renewed, re-made,
 * re-verified on an interval and at once when the public address moves, which is then given to
 * users again); left in place; or removed. The direct road and the double-NAT road share it.
 */
export function mappedRoad(context: RoadContext, road: MappedRoad): OpenRoad {
  const { session, request } = context;
  const { held, firewall, portChanges } = road;
  // Its own mappings are live (just made, or kept): the doctor need not renew them to ask.
  const verify = () => diagnoseIn(session, { ...request, confirmMappings: false });
  const mappings = () => held.map((h) => h.mapping);
  return {
    verify,
    closedBecause: road.closedBecause,
    async keep(first) {
      let report = first;
      let given = report.reachable ? giveFor(report.publicAddress, road.publicMappings()).join() : '';
      session.progress({
        kind: 'verified',
        reachable: report.reachable,
        publicAddress: report.publicAddress,
        // Said at once, not after Ctrl-C: the address to give users while this keeps running.
        give: report.reachable ? giveFor(report.publicAddress, road.publicMappings()) : [],
      });
      // A failed check from outside wakes the keepers: they re-make at once instead of at half the lease.
      const wake = new EventTarget();
      // A keeper that hears the public address move wakes the check from outside: the new address is
      // proven and given to users at once, not at the next interval.
      const recheck = new EventTarget();
      const keepers = held.map((h) =>
        h.keep({
          wake,
          onEvent: (event) => {
            if (event.kind !== 'address-changed') return;
            // What the router speaks and reports may have changed with it: ask again.
            session.rediscover();
            recheck.dispatchEvent(new Event('wake'));
          },
        }),
      );
      const verifier = (async () => {
        while (!session.signal?.aborted) {
          await sleepOrWake(request.verifyEverySeconds * 1000, { signal: session.signal, wake: recheck });
          if (session.signal?.aborted) break;
          try {
            report = await verify();
          } catch (error) {
            // A check that could not run is said and tried again next round; the keepers go on.
            if (session.signal?.aborted) break;
            session.progress({
              kind: 'verified',
              reachable: false,
              publicAddress: report.publicAddress,
              failing: [`the check from outside did not run: ${(error as Error).message}`],
            });
            continue;
          }
          if (!report.reachable) wake.dispatchEvent(new Event('wake'));
          const give = report.reachable ? giveFor(report.publicAddress, road.publicMappings()) : [];
          // The addresses are said again only when they changed (a new public address, a new port).
          const changed = give.length > 0 && give.join() !== given;
          if (give.length > 0) given = give.join();
          session.progress({
            kind: 'verified',
            reachable: report.reachable,
            publicAddress: report.publicAddress,
            ...(changed ? { give } : {}),
            failing: report.findings.filter((f) => f.status === 'fail').map((f) => f.id),
          });
        }
      })();
      const [kept] = await Promise.all([Promise.all(keepers), verifier]);
      for (const ending of kept.filter((k) => !k.removed))
        session.leftBehind(
          describeMapping(ending.mapping),
          ending.why ?? 'the router did not confirm the removal',
          ending.mapping,
        );
      // The keepers removed the mappings on abort; the firewall rules go last.
      await firewall?.remove();
      return report;
    },
    async leave() {
      // Without --keep, mappings and rules stay by design (mappings recorded for `porthole unmap`).
      for (const h of held) h.leave();
      firewall?.leave();
    },
    async close() {
      for (const h of [...held].reverse()) await h.remove().catch(() => {});
      await firewall?.remove().catch(() => {});
    },
    outcome: (report, kept) => ({
      mode: 'direct',
      family: 4,
      mappings: mappings(),
      relays: [],
      portChanges,
      firewall: firewall ? firewall.state : null,
      give: report.reachable ? giveFor(report.publicAddress, road.publicMappings()) : [],
      notes: [
        ...(road.notes ?? []),
        ...portChanges.map(
          (c) =>
            `Note: the router gave external port ${c.got} for ${c.asked}/${c.protocol} (${c.asked} was not available): users must use ${c.got}.`,
        ),
        ...mappings()
          .filter((m) => m.asked && m.asked.lifetime !== m.lifetime)
          .map(
            (m) =>
              `Note: the router granted ${m.externalPort}/${m.protocol} a lease of ${m.lifetime} s, not the ${m.asked?.lifetime} s asked: ${kept ? 'it is renewed before that lease ends' : 'it ends sooner'}.`,
          ),
        ...(!kept
          ? mappings()
              .filter((m) => m.lifetime > 0)
              .map(
                (m) =>
                  `The mapping of ${m.externalPort}/${m.protocol}${m.gateway !== held[0]?.mapping.gateway ? ` on ${m.gateway}` : ''} expires in ${m.lifetime} s (at ${new Date(Date.now() + m.lifetime * 1000).toISOString()}): run with --keep to renew it, or \`porthole unmap ${m.internalPort}/${m.protocol}\` to remove it now.`,
              )
          : []),
      ],
    }),
  };
}

/** The ports the router gave other than the ones asked (no port asked: the internal port was wanted). */
export function portChangesOf(held: readonly HeldMapping[], asked: readonly { external?: unknown }[]) {
  return held
    .map((h, index) => ({ mapping: h.mapping, asked: asked[index] }))
    .filter(({ mapping, asked }) => asked?.external === undefined && mapping.externalPort !== mapping.internalPort)
    .map(({ mapping }) => ({ asked: mapping.internalPort, got: mapping.externalPort, protocol: mapping.protocol }));
}

/** The direct road. */
export const directRoad: Road = {
  name: 'direct',
  usable: async () => ({ usable: true }),
  async open(context): Promise<OpenRoad> {
    const { held, firewall } = await openMappings(context);
    return mappedRoad(context, {
      held,
      firewall,
      publicMappings: () => held.map((h) => h.mapping),
      portChanges: portChangesOf(held, requestsOf(context.request.manifest.entries)),
      closedBecause: directRoadClosed,
    });
  },
};
