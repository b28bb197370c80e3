/**
 * A double NAT mapped on both routers: the home router maps this host's port (the inner mapping),
 * the router in front of it (a provider's modem-router) maps its public port to the home router's
 * WAN address and the inner mapping's external port (the outer mapping). Both go through the one
 * mapping lifecycle (heldMapping.ts): recorded before asking, kept together, undone together.
 *
 *   internet ── outer router  P → 192.168.1.2:Q ── home router  Q → 192.168.77.10:7001 ── this host
 */
import { PortholeError } from '../errors/index.js';
import { type GatewayInfo, type Mapping, mappingStatePath, readMappingState } from '../gateway/index.js';
import { classifyAddress, isIpLiteral } from '../net/index.js';
import { type HeldMapping, type HoldOptions, type HoldRequest, holdMapping } from './heldMapping.js';
import type { RunSession } from './session.js';

/** Both mappings of a double NAT, held by the run. */
export interface HeldPair {
  readonly inner: HeldMapping;
  readonly outer: HeldMapping;
}

/** The router in front, asked at its address, with the home router's WAN address as its client. */
export async function outerGatewayOf(session: RunSession, address: string): Promise<GatewayInfo> {
  if (!isIpLiteral(address) || classifyAddress(address) !== 'private')
    throw new PortholeError('E_USAGE', {
      detail: `--outer ${address}: the router in front of yours has a private address (its LAN, where your router's WAN sits)`,
    });
  const outer = await session.outerGateway(address, await session.gateway());
  if (outer.protocols.length === 0)
    throw new PortholeError('E_NO_MAPPING_PROTOCOL', {
      detail: `the router in front (${address}) answered no UPnP IGD, NAT-PMP or PCP probe${outer.internalAddress === (await session.gateway()).internalAddress ? " (or only ones that need your router's WAN address, which your router did not report)" : ''}`,
    });
  return outer;
}

/**
 * The router in front of this host's router, found without sending anything beyond the LAN of the
 * two: the home router reports its WAN address (a private one behind a modem-router); the router
 * in front is the first of that network's usual router addresses (.1, .254) that answers UPnP,
 * NAT-PMP or PCP. The doctor finds it from the path instead, and prints it in its fix.
 */
export async function findOuterRouter(session: RunSession): Promise<string> {
  const inner = await session.gateway();
  const wan = inner.externalIp;
  if (!wan || classifyAddress(wan) !== 'private')
    throw new PortholeError('E_NO_GATEWAY', {
      detail: `your router reports ${wan ? `${wan} (not a private address)` : 'no external address'}, so the router in front cannot be found from it: name it (\`--outer ADDRESS\`; \`porthole doctor --checker URL\` prints it)`,
    });
  const prefix = wan.split('.').slice(0, 3).join('.');
  for (const candidate of [`${prefix}.1`, `${prefix}.254`].filter((address) => address !== wan)) {
    const outer = await session.outerGateway(candidate, inner).catch(() => undefined);
    if (outer && outer.protocols.length > 0) return candidate;
  }
  throw new PortholeError('E_NO_GATEWAY', {
    detail: `no router answered at ${prefix}.1 or ${prefix}.254 (the usual addresses of the router in front of ${wan}): name it with --outer ADDRESS`,
  });
}

/**
 * Maps on both routers: first this host's router (as `map` does), then the router in front, its
 * external port (the one asked, or the inner mapping's) to the home router's WAN address and the
 * inner mapping's external port. When the outer mapping fails, the inner one is removed: nothing
 * half made stays.
 */
export async function holdPair(
  session: RunSession,
  request: HoldRequest,
  outerAddress: string,
  options: HoldOptions = {},
): Promise<HeldPair> {
  const outerGateway = await outerGatewayOf(session, outerAddress);
  const inner = await holdMapping(session, request, options);
  try {
    const { mapping } = inner;
    const outer = await holdMapping(
      session,
      {
        protocol: mapping.protocol,
        internalPort: mapping.externalPort,
        // The port users connect to: the one asked, else the inner mapping's (so both say the same).
        external: request.external ?? mapping.externalPort,
        lifetimeSeconds: request.lifetimeSeconds,
        description: `${request.description} (to ${mapping.gateway})`,
      },
      { ...(options.record === false ? { record: false } : {}), gateway: outerGateway },
    );
    return { inner, outer };
  } catch (error) {
    await inner.remove().catch(() => {});
    throw error;
  }
}

/**
 * porthole's records of outer mappings that forward to one of `inner` (the home router's mappings
 * removed): they are undone with them. An outer record is one on another router whose client is
 * the home router's WAN address and whose internal port is the inner mapping's external port.
 */
export function outerRecordsOf(
  env: NodeJS.ProcessEnv,
  inner: readonly Mapping[],
  innerGateway: GatewayInfo,
): Mapping[] {
  const wan = innerGateway.externalIp;
  if (!wan) return [];
  return readMappingState(mappingStatePath(env)).filter(
    (stored) =>
      stored.gateway !== innerGateway.address &&
      stored.internalAddress === wan &&
      inner.some((m) => m.protocol === stored.protocol && m.externalPort === stored.internalPort),
  );
}
