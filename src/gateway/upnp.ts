/**
 * The UPnP IGD client over one WAN connection service (WANIPConnection:1/2, WANPPPConnection:1).
 * Router quirks handled here, each where it bites:
 * - 718 ConflictInMappingEntry / 729 ConflictWithOtherMechanisms: try the next port of a range,
 *   or AddAnyPortMapping (IGD:2) when no port was asked for.
 * - 725 OnlyPermanentLeasesSupported, and 402 Invalid Args from IGD:1 routers that reject a
 *   lease: retry with lease 0 (permanent) and renew and remove it ourselves.
 * - 713 SpecifiedArrayIndexInvalid (or 714 on some routers) ends a GetGenericPortMappingEntry listing.
 */
import type { AbortOptions } from '../deadline/index.js';
import { PortholeError } from '../errors/index.js';
import { candidatePorts, portSatisfies, renewalRequest } from './candidates.js';
import type { WanService } from './igdDescription.js';
import { type AddressPolicy, igdRequest } from './igdHttp.js';
import { refusalMeaning } from './refusal.js';
import { decodeSoapResponse, encodeSoapRequest, type SoapAnswer, soapActionHeader } from './soapCodec.js';
import type { Mapping, MappingClient, MappingEntry, MappingRequest } from './types.js';

/** UPnP error codes porthole acts on (UPnP IGD WANIPConnection specification). */
export const UPNP_ERRORS: Readonly<Record<number, string>> = {
  401: 'Invalid Action',
  402: 'Invalid Args',
  501: 'Action Failed',
  606: 'Action not authorized',
  713: 'SpecifiedArrayIndexInvalid',
  714: 'NoSuchEntryInArray',
  715: 'WildCardNotPermittedInSrcIP',
  716: 'WildCardNotPermittedInExtPort',
  718: 'ConflictInMappingEntry',
  724: 'SamePortValuesRequired',
  725: 'OnlyPermanentLeasesSupported',
  726: 'RemoteHostOnlySupportsWildcard',
  727: 'ExternalPortOnlySupportsWildcard',
  728: 'NoPortMapsAvailable',
  729: 'ConflictWithOtherMechanisms',
};

/** A lease read back this much shorter than asked is the router's clamp, not the seconds gone by. */
const LEASE_SLACK_SECONDS = 5;

/** A listing stops here even if a router never says 713. */
const MAX_LIST_ENTRIES = 1024;

/** Options for a UPnP client. */
export interface UpnpClientOptions {
  readonly gateway: string;
  readonly internalAddress: string;
  readonly service: WanService;
  /** Tests of the HTTP layer may relax the address policy; production never does. */
  readonly policy?: AddressPolicy;
}

/** A UPnP error answer as an exception with its code, its cause and the fix for it (refusal.ts). */
export class UpnpActionError extends PortholeError {
  readonly upnpCode: number;
  constructor(action: string, code: number, description: string) {
    const explained = refusalMeaning('upnp', code);
    super(explained.reason === 'taken' ? 'E_MAPPING_CONFLICT' : 'E_GATEWAY_REFUSED', {
      detail: `UPnP ${action}: ${code} ${description || UPNP_ERRORS[code] || ''}`.trim(),
      // A listing's end (713, 714) is no refusal: no fix to give.
      ...(code === 713 || code === 714 ? {} : { hint: `${explained.meaning}. ${explained.fix}` }),
      data: { method: 'upnp', upnpCode: code, reason: explained.reason },
    });
    this.upnpCode = code;
  }
}

/** A UPnP IGD client. */
export function createUpnpClient(options: UpnpClientOptions): MappingClient & {
  getSpecific(
    protocol: 'tcp' | 'udp',
    externalPort: number,
    signalOptions?: AbortOptions,
  ): Promise<MappingEntry | undefined>;
} {
  const { serviceType, controlUrl } = options.service;

  async function call(
    action: string,
    args: ReadonlyArray<readonly [string, string | number]>,
    signalOptions: AbortOptions = {},
  ): Promise<Record<string, string>> {
    const answer = await igdRequest(controlUrl, options.gateway, {
      method: 'POST',
      headers: { 'content-type': 'text/xml; charset="utf-8"', soapaction: soapActionHeader(serviceType, action) },
      body: encodeSoapRequest(serviceType, action, args),
      ...(options.policy ? { policy: options.policy } : {}),
      ...signalOptions,
    });
    const decoded: SoapAnswer = decodeSoapResponse(answer.body, action);
    if (!decoded.ok) throw new UpnpActionError(action, decoded.errorCode, decoded.errorDescription);
    if (answer.status !== 200)
      throw new PortholeError('E_GATEWAY_REFUSED', { detail: `UPnP ${action}: HTTP ${answer.status}` });
    return decoded.values;
  }

  async function externalIp(signalOptions: AbortOptions = {}): Promise<string> {
    return (await call('GetExternalIPAddress', [], signalOptions)).NewExternalIPAddress ?? '';
  }

  function deleteArgs(mapping: Mapping) {
    return [
      ['NewRemoteHost', ''],
      ['NewExternalPort', mapping.externalPort],
      ['NewProtocol', mapping.protocol.toUpperCase()],
    ] as const;
  }

  function addArgs(request: MappingRequest, externalPort: number, lease: number) {
    return [
      ['NewRemoteHost', ''],
      ['NewExternalPort', externalPort],
      // Upper case: some routers compare the protocol case-sensitively.
      ['NewProtocol', request.protocol.toUpperCase()],
      ['NewInternalPort', request.internalPort],
      ['NewInternalClient', options.internalAddress],
      ['NewEnabled', 1],
      ['NewPortMappingDescription', request.description],
      ['NewLeaseDuration', lease],
    ] as const;
  }

  /** AddPortMapping, retrying with a permanent lease where the router refuses a timed one. */
  async function add(request: MappingRequest, externalPort: number, signalOptions: AbortOptions): Promise<number> {
    try {
      await call('AddPortMapping', addArgs(request, externalPort, request.lifetimeSeconds), signalOptions);
      return request.lifetimeSeconds;
    } catch (error) {
      const code = error instanceof UpnpActionError ? error.upnpCode : 0;
      if ((code === 725 || code === 402) && request.lifetimeSeconds !== 0) {
        await call('AddPortMapping', addArgs(request, externalPort, 0), signalOptions);
        return 0;
      }
      throw error;
    }
  }

  /** The router's entry for an external port, or undefined when it has none (714). */
  async function getSpecific(
    protocol: 'tcp' | 'udp',
    externalPort: number,
    signalOptions: AbortOptions = {},
  ): Promise<MappingEntry | undefined> {
    try {
      const values = await call(
        'GetSpecificPortMappingEntry',
        [
          ['NewRemoteHost', ''],
          ['NewExternalPort', externalPort],
          ['NewProtocol', protocol.toUpperCase()],
        ],
        signalOptions,
      );
      return {
        protocol,
        externalPort,
        internalAddress: values.NewInternalClient ?? '',
        internalPort: Number(values.NewInternalPort),
        description: values.NewPortMappingDescription ?? '',
        lifetime: Number(values.NewLeaseDuration ?? 0),
        enabled: values.NewEnabled !== '0',
      };
    } catch (error) {
      if (error instanceof UpnpActionError && error.upnpCode === 714) return undefined;
      throw error;
    }
  }

  function mappingFor(
    request: MappingRequest,
    externalPort: number,
    externalIpAddress: string,
    lifetime: number,
    skipped: { port: number; why: string }[],
  ): Mapping {
    return {
      method: 'upnp',
      gateway: options.gateway,
      protocol: request.protocol,
      internalAddress: options.internalAddress,
      internalPort: request.internalPort,
      externalPort,
      externalIp: externalIpAddress,
      lifetime,
      description: request.description,
      ...(skipped.length > 0 ? { skipped } : {}),
    };
  }

  /**
   * The mapping as the router really made it: AddPortMapping answers only "done", and routers
   * clamp the lease (IGD:2 lets them cap it; some make a timed lease permanent or the reverse) or
   * put another client in. Read back with GetSpecificPortMappingEntry: the keeper renews before
   * the lease the router holds ends, never the one asked for. A mapping for another client is
   * removed and refused: it cannot reach this host.
   */
  async function asGranted(mapping: Mapping, signalOptions: AbortOptions): Promise<Mapping> {
    let entry: MappingEntry | undefined;
    try {
      entry = await getSpecific(mapping.protocol, mapping.externalPort, signalOptions);
    } catch {
      return mapping; // No read-back (an IGD:1 router without the action): believed as asked.
    }
    if (!entry) return mapping;
    if (
      (entry.internalAddress && entry.internalAddress !== options.internalAddress) ||
      (entry.internalPort > 0 && entry.internalPort !== mapping.internalPort)
    ) {
      await call('DeletePortMapping', deleteArgs(mapping), signalOptions).catch(() => undefined);
      throw new PortholeError('E_GATEWAY_REFUSED', {
        detail: `UPnP AddPortMapping: the router made ${mapping.externalPort}/${mapping.protocol} point at ${entry.internalAddress}:${entry.internalPort}, not at this host (${options.internalAddress}:${mapping.internalPort}); porthole removed it`,
        hint: 'The router does not honour the internal client asked for (a broken UPnP implementation): forward the port by hand on its page.',
        data: { method: 'upnp', reason: 'other-client', granted: entry },
      });
    }
    const clamped =
      (mapping.lifetime === 0 && entry.lifetime > 0) ||
      (mapping.lifetime > 0 && entry.lifetime > 0 && entry.lifetime < mapping.lifetime - LEASE_SLACK_SECONDS);
    if (clamped) return { ...mapping, lifetime: entry.lifetime, asked: { lifetime: mapping.lifetime } };
    return mapping;
  }

  return {
    method: 'upnp',
    gateway: options.gateway,
    externalIp,
    async map(request, signalOptions = {}) {
      const ip = await externalIp(signalOptions);
      const skipped: { port: number; why: string }[] = [];
      for (const candidate of candidatePorts(request)) {
        try {
          const lifetime = await add(request, candidate, signalOptions);
          return await asGranted(mappingFor(request, candidate, ip, lifetime, skipped), signalOptions);
        } catch (error) {
          if (!(error instanceof UpnpActionError) || (error.upnpCode !== 718 && error.upnpCode !== 729)) throw error;
          skipped.push({ port: candidate, why: `taken (${error.upnpCode} ${UPNP_ERRORS[error.upnpCode]})` });
        }
      }
      if (request.external === undefined && serviceType.endsWith(':2')) {
        // IGD:2 can pick a free port itself.
        const reserved = Number(
          (
            await call(
              'AddAnyPortMapping',
              addArgs(request, request.internalPort, request.lifetimeSeconds),
              signalOptions,
            )
          ).NewReservedPort,
        );
        if (portSatisfies(request, reserved))
          return asGranted(mappingFor(request, reserved, ip, request.lifetimeSeconds, skipped), signalOptions);
      }
      const first = skipped[0];
      throw new PortholeError('E_MAPPING_CONFLICT', {
        detail: `${skipped.map((s) => s.port).join(', ')} ${skipped.length === 1 ? 'is' : 'are'} mapped to another host${first ? ` (UPnP ${first.why.replace(/^taken \((.*)\)$/, '$1')})` : ''}`,
        hint: refusalMeaning('upnp', 718).fix,
        data: { method: 'upnp', reason: 'taken', skipped },
      });
    },
    async renew(mapping, signalOptions = {}) {
      const asked = mapping.asked?.lifetime ?? mapping.lifetime;
      const lifetime = await add(
        { ...renewalRequest(mapping), lifetimeSeconds: asked },
        mapping.externalPort,
        signalOptions,
      );
      // The external address may have changed since (a new lease from the ISP): report the current one.
      const { asked: _asked, ...renewed } = mapping;
      return asGranted(
        { ...renewed, lifetime, externalIp: (await externalIp(signalOptions)) || mapping.externalIp },
        signalOptions,
      );
    },
    async unmap(mapping, signalOptions = {}) {
      try {
        await call('DeletePortMapping', deleteArgs(mapping), signalOptions);
      } catch (error) {
        // Already gone (lease expired, router restarted): nothing to remove.
        if (!(error instanceof UpnpActionError && error.upnpCode === 714)) throw error;
      }
    },
    async list(signalOptions = {}) {
      const entries: MappingEntry[] = [];
      for (let index = 0; index < MAX_LIST_ENTRIES; index++) {
        let values: Record<string, string>;
        try {
          values = await call('GetGenericPortMappingEntry', [['NewPortMappingIndex', index]], signalOptions);
        } catch (error) {
          if (error instanceof UpnpActionError && (error.upnpCode === 713 || error.upnpCode === 714)) break;
          throw error;
        }
        entries.push({
          protocol: (values.NewProtocol ?? '').toLowerCase() === 'udp' ? 'udp' : 'tcp',
          externalPort: Number(values.NewExternalPort),
          internalAddress: values.NewInternalClient ?? '',
          internalPort: Number(values.NewInternalPort),
          description: values.NewPortMappingDescription ?? '',
          lifetime: Number(values.NewLeaseDuration ?? 0),
          enabled: values.NewEnabled !== '0',
        });
      }
      return entries;
    },
    getSpecific,
  };
}
