/** `mapPort` and `unmapPort`: one router mapping from code, over whatever the router speaks. */
import { PortholeError } from '../errors/index.js';
import {
  clientFor,
  forgetMappings,
  type Mapping,
  type MappingMethod,
  mappingStatePath,
  pinholeClientFor,
} from '../gateway/index.js';
import type { Transport } from '../net/index.js';
import { holdMapping } from './heldMapping.js';
import { findOuterRouter, holdPair } from './outerMapping.js';
import { RunSession, type SessionOptions } from './session.js';

/** A lease long enough to outlive a session, short enough that a forgotten mapping goes away (as `porthole map`). */
const DEFAULT_LEASE_SECONDS = 3600;

/** What to map, and how. */
export interface MapPortOptions extends Omit<SessionOptions, 'purpose'> {
  /** The local port your server listens on. */
  readonly port: number;
  /** Default `tcp`. */
  readonly protocol?: Transport;
  /**
   * The external port, a range to take the first free port of, or `any` (any port the router will
   * give: for a port it refuses, such as one below 1024); default: the same as `port`.
   */
  readonly externalPort?: number | { readonly start: number; readonly end: number } | 'any';
  /** Lease in seconds (default 3600; 0 asks UPnP for a permanent mapping). */
  readonly lifetimeSeconds?: number;
  /** The text the router shows beside the mapping (default `porthole PORT/PROTO`). */
  readonly description?: string;
  /** Force one protocol; default: PCP, then NAT-PMP, then UPnP IGD, whichever the router answers. */
  readonly via?: MappingMethod;
  /** 6: an IPv6 pinhole in the router's firewall (PCP, then IGDv2) instead of a port mapping. */
  readonly family?: 4 | 6;
  /**
   * Record the mapping in porthole's state (mappings.json) so that `porthole mappings` lists it and
   * `porthole unmap` removes it, as `porthole map` does. Default true.
   */
  readonly record?: boolean;
  /**
   * Double NAT: map on the router in front too (its address, or `true` to find it from the
   * address this host's router reports), its public port to this router's WAN address and port.
   */
  readonly outer?: true | string;
}

/**
 * A mapping the router granted: external address and port, method, lease; the methods that
 * refused first; and, behind a double NAT mapped on both routers, the outer router's mapping
 * (whose external address and port are what users connect to).
 */
export type PortMapping = Mapping & { readonly tried?: readonly string[]; readonly outer?: Mapping };

function checkPort(port: unknown, what: string): void {
  if (!Number.isInteger(port) || (port as number) < 1 || (port as number) > 65535) {
    throw new PortholeError('E_PORT_SPEC', {
      detail: `${what} must be a whole number from 1 to 65535, not ${String(port)}`,
    });
  }
}

/** The request a map call makes, checked (E_PORT_SPEC). */
export function mapRequestOf(options: MapPortOptions) {
  checkPort(options.port, 'port');
  const protocol = options.protocol ?? 'tcp';
  if (protocol !== 'tcp' && protocol !== 'udp')
    throw new PortholeError('E_PORT_SPEC', { detail: `protocol must be tcp or udp, not ${String(protocol)}` });
  const external = options.externalPort;
  if (typeof external === 'number') checkPort(external, 'externalPort');
  else if (external && external !== 'any') {
    checkPort(external.start, 'externalPort.start');
    checkPort(external.end, 'externalPort.end');
  }
  return {
    protocol,
    internalPort: options.port,
    ...(external !== undefined ? { external } : {}),
    lifetimeSeconds: options.lifetimeSeconds ?? DEFAULT_LEASE_SECONDS,
    description: options.description ?? `porthole ${options.port}/${protocol}`,
    ...(options.family === 6 ? { family: 6 as const } : {}),
  };
}

/**
 * Asks the router (UPnP IGD, NAT-PMP or PCP, whichever it answers) to forward a port to this
 * host, and resolves with the granted mapping. The mapping outlives the call until its lease
 * ends; use {@link keepPortMapped} to keep it while your server runs, or {@link unmapPort}.
 * Rejects with a PortholeError: E_NO_GATEWAY, E_NO_MAPPING_PROTOCOL, E_MAPPING_CONFLICT, ...
 */
export async function mapPort(options: MapPortOptions): Promise<PortMapping> {
  const request = mapRequestOf(options);
  const session = new RunSession({ ...options, purpose: 'map' });
  try {
    if (options.outer !== undefined) {
      const address = typeof options.outer === 'string' ? options.outer : await findOuterRouter(session);
      const pair = await holdPair(session, request, address, {
        ...(options.via ? { via: options.via } : {}),
        ...(options.record === false ? { record: false } : {}),
      });
      pair.inner.leave();
      pair.outer.leave();
      return {
        ...pair.inner.mapping,
        ...(pair.inner.tried.length > 0 ? { tried: pair.inner.tried } : {}),
        outer: pair.outer.mapping,
      };
    }
    const held = await holdMapping(session, request, {
      ...(options.via ? { via: options.via } : {}),
      ...(options.record === false ? { record: false } : {}),
    });
    // Left on the router by design: its lease ends it, `porthole unmap` removes it sooner.
    held.leave();
    return held.tried.length > 0 ? { ...held.mapping, tried: held.tried } : held.mapping;
  } finally {
    await session.close();
  }
}

/**
 * Removes a mapping made by {@link mapPort} (with the protocol it was made with: PCP needs its
 * nonce) and forgets its record. Rejects when the router refuses or cannot be reached.
 */
export async function unmapPort(
  mapping: PortMapping,
  options: Omit<SessionOptions, 'purpose' | 'onProgress'> = {},
): Promise<void> {
  // Removing wants every protocol's answer (a busy router's UPnP comes last): scripts/crash-safety.ts.
  const session = new RunSession({ ...options, purpose: 'inventory' });
  // An IPv4 mapping may be on the router in front (double NAT); a pinhole only on this host's.
  const gateway = mapping.family === 6 ? await session.pinholeGateway() : await session.gatewayHolding(mapping);
  if (gateway.address !== mapping.gateway) {
    throw new PortholeError('E_GATEWAY_MOVED', {
      detail: `the pinhole is on ${mapping.gateway}; this host's IPv6 gateway now is ${gateway.address}`,
    });
  }
  const client =
    mapping.family === 6
      ? pinholeClientFor(gateway as Awaited<ReturnType<RunSession['pinholeGateway']>>, mapping.method)
      : clientFor(gateway as Awaited<ReturnType<RunSession['gateway']>>, mapping.method);
  if (!client)
    throw new PortholeError('E_NO_MAPPING_PROTOCOL', {
      detail: `${gateway.address} no longer speaks ${mapping.method}`,
    });
  await client.unmap(mapping, session.abort);
  forgetMappings(
    mappingStatePath(session.env),
    (stored) =>
      stored.gateway === mapping.gateway &&
      stored.protocol === mapping.protocol &&
      stored.externalPort === mapping.externalPort &&
      stored.method === mapping.method,
  );
}
