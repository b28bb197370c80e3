/**
 * The router as it stands: the gateways and what they speak (`porthole gateway`), the mappings
 * they hold for this host (`porthole mappings`), and removing those of a port (`porthole unmap`).
 * Each runs in one session that waits for every protocol's answer (a busy router's UPnP answer
 * comes last). Listing is a diagnosis: where confirming a NAT-PMP or PCP record needs a renewal
 * (they cannot be read), the result says so in `changes`.
 */
import { type Change, renewalChanges } from '../doctor/index.js';
import {
  clientFor,
  closePinholes,
  type GatewayInfo,
  mappingStatePath,
  type PinholeRemoval,
  type RemovalReport,
  removeMappings,
  type SeenMapping,
  seeMappings,
} from '../gateway/index.js';
import type { Transport } from '../net/index.js';
import { outerRecordsOf } from './outerMapping.js';
import { RunSession, type SessionOptions } from './session.js';

/** Options for the router calls: the session's, without a purpose (they wait for every answer). */
export type RouterOptions = Omit<SessionOptions, 'purpose'>;

/** A gateway with the external address UPnP gave when NAT-PMP did not, and why not when it could not. */
export type ListedGateway = GatewayInfo & { readonly externalIpError?: string };

/** This host's gateways and what each speaks, with their external address. */
export async function listGateways(options: RouterOptions = {}): Promise<readonly ListedGateway[]> {
  const session = new RunSession({ ...options, purpose: 'inventory' });
  const gateways = await session.gateways();
  return Promise.all(
    gateways.map(async (gateway): Promise<ListedGateway> => {
      const upnp = gateway.externalIp ? undefined : clientFor(gateway, 'upnp');
      if (!upnp) return gateway;
      try {
        // Some routers answer an empty string rather than an error when they have no address.
        return { ...gateway, externalIp: (await upnp.externalIp(session.abort)) || undefined };
      } catch (error) {
        return {
          ...gateway,
          externalIpError: `${(error as { code?: string }).code ?? 'E_INTERNAL'}: ${(error as Error).message}`,
        };
      }
    }),
  );
}

/** The router's mappings and what listing them changed. */
export interface MappingList {
  readonly gateway: GatewayInfo;
  readonly mappings: readonly SeenMapping[];
  /** Renewals made to ask the router about porthole's NAT-PMP/PCP records (never silent). */
  readonly changes: readonly Change[];
}

/**
 * The router's mappings (its UPnP list) merged with porthole's records, each record confirmed by
 * the router: a NAT-PMP or PCP one by renewing it (the only question those protocols answer), which
 * is said in `changes`.
 */
export async function listMappings(options: RouterOptions = {}): Promise<MappingList> {
  const session = new RunSession({ ...options, purpose: 'inventory' });
  const gateway = await session.gateway();
  const mappings = await seeMappings(gateway, {
    statePath: mappingStatePath(session.env),
    confirm: true,
    ...session.abort,
  });
  const changes = renewalChanges(mappings);
  return { gateway, mappings, changes };
}

/** Which of this host's mappings to remove. */
export interface RemovePortOptions extends RouterOptions {
  readonly protocol: Transport;
  /** The port as this host's server listens on it (the default), or the router's external port. */
  readonly port: number;
  readonly by?: 'internal' | 'external';
  /** 6: close the IPv6 pinholes porthole opened for the port. */
  readonly family?: 4 | 6;
}

/** What removing did, and the gateway asked. */
export type PortRemoval =
  | ({ readonly family: 4; readonly gateway: GatewayInfo } & RemovalReport)
  | ({ readonly family: 6; readonly gateway: string } & PinholeRemoval);

/**
 * Removes this host's mappings of a port: porthole's records (each by its own protocol; PCP by its
 * nonce) and any the router lists for it (UPnP, other tools' too). What the router refuses to remove
 * stays recorded and is reported.
 */
export async function removePortMappings(options: RemovePortOptions): Promise<PortRemoval> {
  const session = new RunSession({ ...options, purpose: 'inventory' });
  const statePath = mappingStatePath(session.env);
  if (options.family === 6) {
    const six = await session.pinholeGateway();
    const closed = await closePinholes(six, {
      protocol: options.protocol,
      internalPort: options.port,
      statePath,
      ...session.abort,
    });
    return { family: 6, gateway: six.address, ...closed };
  }
  const gateway = await session.gateway();
  const report = await removeMappings(gateway, {
    protocol: options.protocol,
    ...(options.by === 'external' ? { externalPort: options.port } : { internalPort: options.port }),
    statePath,
    ...session.abort,
  });
  // Double NAT: the outer router's mappings that forwarded to the ones removed go with them.
  const gone = [...report.removed, ...report.stale.map((s) => s.mapping)];
  for (const record of outerRecordsOf(session.env, gone, gateway)) {
    try {
      const outer = await session.outerGateway(record.gateway, gateway);
      const more = await removeMappings(outer, {
        protocol: record.protocol,
        internalPort: record.internalPort,
        statePath,
        ...session.abort,
      });
      report.removed.push(...more.removed);
      report.stale.push(...more.stale);
      report.failed.push(...more.failed);
    } catch (error) {
      report.failed.push({ mapping: record, why: (error as Error).message });
    }
  }
  return { family: 4, gateway, ...report };
}
