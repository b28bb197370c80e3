/** `mapPort` and `unmapPort`: one router mapping from code, over whatever the router speaks. */
import { type AbortOptions, throwIfAborted } from '../deadline/index.js';
import { PortholeError } from '../errors/index.js';
import {
  clientFor,
  type DiscoveryOptions,
  discoverPrimaryGateway,
  enoughToMap,
  forgetMappings,
  type GatewayInfo,
  type Mapping,
  type MappingClient,
  type MappingMethod,
  mappingStatePath,
  mapWithBest,
  recordMapping,
} from '../gateway/index.js';
import type { Transport } from '../net/portSpec.js';
import type { MappingRequestRecord } from './leftovers.js';

/** A lease long enough to outlive a session, short enough that a forgotten mapping goes away (as `porthole map`). */
const DEFAULT_LEASE_SECONDS = 3600;

/** What to map, and how. */
export interface MapPortOptions extends AbortOptions {
  /** The local port your server listens on. */
  readonly port: number;
  /** Default `tcp`. */
  readonly protocol?: Transport;
  /** The external port, or a range to take the first free port of; default: the same as `port`. */
  readonly externalPort?: number | { readonly start: number; readonly end: number };
  /** Lease in seconds (default 3600; 0 asks UPnP for a permanent mapping). */
  readonly lifetimeSeconds?: number;
  /** The text the router shows beside the mapping (default `porthole PORT/PROTO`). */
  readonly description?: string;
  /** Force one protocol; default: PCP, then NAT-PMP, then UPnP IGD, whichever the router answers. */
  readonly via?: MappingMethod;
  /**
   * Record the mapping in porthole's state (`$XDG_STATE_HOME/porthole/mappings.json`) so that
   * `porthole mappings` lists it and `porthole unmap` removes it, as `porthole map` does. Default true.
   */
  readonly record?: boolean;
  /** Environment for state and configuration paths (default `process.env`). */
  readonly env?: NodeJS.ProcessEnv;
  /** Gateway discovery settings (a lab's gateway, test ports). */
  readonly discovery?: Omit<DiscoveryOptions, 'signal' | 'enough'>;
}

/** A mapping the router granted: external address and port, method, lease. */
export type PortMapping = Mapping;

function checkPort(port: unknown, what: string): void {
  if (!Number.isInteger(port) || (port as number) < 1 || (port as number) > 65535) {
    throw new PortholeError('E_PORT_SPEC', {
      detail: `${what} must be a whole number from 1 to 65535, not ${String(port)}`,
    });
  }
}

/**
 * Discovers the gateway and maps with the best method it speaks; the client is kept for renewals.
 * `beforeAsking` gets the request once the gateway is known and before the router is asked (a
 * keeper records it there: library/leftovers.ts askRecorded).
 */
export async function mapWithGateway(
  options: MapPortOptions,
  beforeAsking?: (request: MappingRequestRecord) => void,
): Promise<{ mapping: Mapping; client: MappingClient; gateway: GatewayInfo; tried: string[] }> {
  throwIfAborted(options.signal);
  checkPort(options.port, 'port');
  const protocol = options.protocol ?? 'tcp';
  if (protocol !== 'tcp' && protocol !== 'udp')
    throw new PortholeError('E_PORT_SPEC', { detail: `protocol must be tcp or udp, not ${String(protocol)}` });
  const external = options.externalPort;
  if (typeof external === 'number') checkPort(external, 'externalPort');
  else if (external) {
    checkPort(external.start, 'externalPort.start');
    checkPort(external.end, 'externalPort.end');
  }
  const gateway = await discoverPrimaryGateway({
    ...options.discovery,
    signal: options.signal,
    enough: enoughToMap(options.via),
  });
  beforeAsking?.({ gateway: gateway.address, protocol, internalPort: options.port });
  const { mapping, client, tried } = await mapWithBest(
    gateway,
    {
      protocol,
      internalPort: options.port,
      ...(external !== undefined ? { external } : {}),
      lifetimeSeconds: options.lifetimeSeconds ?? DEFAULT_LEASE_SECONDS,
      description: options.description ?? `porthole ${options.port}/${protocol}`,
    },
    { signal: options.signal, ...(options.via ? { via: options.via } : {}) },
  );
  return { mapping, client, gateway, tried };
}

/**
 * Asks the router (UPnP IGD, NAT-PMP or PCP, whichever it answers) to forward a port to this
 * host, and resolves with the granted mapping. The mapping outlives the call until its lease
 * ends; use {@link keepPortMapped} to keep it while your server runs, or {@link unmapPort}.
 * Rejects with a PortholeError: E_NO_GATEWAY, E_NO_MAPPING_PROTOCOL, E_MAPPING_CONFLICT, ...
 */
export async function mapPort(options: MapPortOptions): Promise<PortMapping> {
  const { mapping } = await mapWithGateway(options);
  if (options.record !== false) recordMapping(mappingStatePath(options.env), mapping);
  return mapping;
}

/**
 * Removes a mapping made by {@link mapPort} (with the protocol it was made with: PCP needs its
 * nonce) and forgets its record. Rejects when the router refuses or cannot be reached.
 */
export async function unmapPort(
  mapping: PortMapping,
  options: AbortOptions & Pick<MapPortOptions, 'env' | 'discovery'> = {},
): Promise<void> {
  const gateway = await discoverPrimaryGateway({ ...options.discovery, signal: options.signal });
  if (gateway.address !== mapping.gateway) {
    throw new PortholeError('E_NO_GATEWAY', {
      detail: `the mapping is on ${mapping.gateway}, this host's gateway now is ${gateway.address}`,
    });
  }
  const client = clientFor(gateway, mapping.method);
  if (!client)
    throw new PortholeError('E_NO_MAPPING_PROTOCOL', {
      detail: `${gateway.address} no longer speaks ${mapping.method}`,
    });
  await client.unmap(mapping, { signal: options.signal });
  forgetMappings(
    mappingStatePath(options.env),
    (stored) =>
      stored.gateway === mapping.gateway &&
      stored.protocol === mapping.protocol &&
      stored.externalPort === mapping.externalPort &&
      stored.method === mapping.method,
  );
}
