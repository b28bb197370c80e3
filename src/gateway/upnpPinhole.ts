/**
 * IGDv2 IPv6 pinholes (WANIPv6FirewallControl:1): AddPinhole, UpdatePinhole, DeletePinhole and
 * GetFirewallStatus behind the MappingClient contract. There is no translation on IPv6: the
 * "external" address and port are the host's own, and the router only lets new inbound
 * connections through its firewall to them.
 *
 * miniupnpd's rules, learned against 2.3.1 in the lab and said in plain words in its errors:
 * - the SOAP request must come from the InternalClient address (else 606), so every request is
 *   sent from that address (igdRequest's localAddress);
 * - internal ports below 1024 are refused (606) unless its permission rules allow them;
 * - the lease is 1..86400 s (IGDv2); 0 is not "permanent" here;
 * - a UniqueID it does not know is answered 402 Invalid Args, not the specification's 704
 *   NoSuchEntry (fixture miniupnpd-2.3.1-DeletePinhole-402-unknown-id.xml): both mean "gone".
 */
import type { AbortOptions } from '../deadline/index.js';
import { PortholeError } from '../errors/index.js';
import { FIRST_UNPRIVILEGED_PORT } from './candidates.js';
import { FIREWALL_SERVICE_TYPE } from './igdDescription.js';
import { type AddressPolicy, igdRequest } from './igdHttp.js';
import { createMadeMappings } from './madeMappings.js';
import { decodeSoapResponse, encodeSoapRequest, soapActionHeader } from './soapCodec.js';
import type { Mapping, MappingClient, MappingRequest } from './types.js';

/** WANIPv6FirewallControl error codes (IGDv2 specification, section 2.5) and UPnP's own. */
export const PINHOLE_ERRORS: Readonly<Record<number, string>> = {
  402: 'Invalid Args',
  501: 'Action Failed',
  606: 'Action not authorized',
  701: 'PinholeSpaceExhausted',
  702: 'FirewallDisabled',
  703: 'InboundPinholeNotAllowed',
  704: 'NoSuchEntry',
  705: 'ProtocolNotSupported',
  706: 'InternalPortWildcardingNotAllowed',
  707: 'ProtocolWildcardingNotAllowed',
  708: 'WildCardNotPermittedInSrcIP',
  709: 'NoTrafficReceived',
};

/** IGDv2 bounds a pinhole's lease to 1..86400 s. */
export const MAX_PINHOLE_LEASE_SECONDS = 86_400;

/** IANA protocol numbers, which AddPinhole takes instead of names. */
const PROTOCOL_NUMBER = { tcp: 6, udp: 17 } as const;

/** What a refusal means, in plain words, for the hint. */
export function explainPinholeRefusal(code: number, internalPort: number): string {
  if (code === 606)
    return internalPort < FIRST_UNPRIVILEGED_PORT
      ? `The router refuses pinholes to internal ports below ${FIRST_UNPRIVILEGED_PORT} (miniupnpd's default rule): run the server on a port of 1024 or above, or open the port in the router's settings by hand.`
      : "The router opens pinholes only for the address that asks (the SOAP request must come from the InternalClient address) and only for ports its rules allow; run porthole on the server's own host, or allow the port in the router's settings.";
  if (code === 702)
    return "The router's IPv6 firewall is switched off: inbound IPv6 is not blocked there, no pinhole is needed.";
  if (code === 703)
    return "The router's IPv6 firewall is on but does not let UPnP open inbound pinholes: allow it in the router's settings (IPv6 firewall / UPnP pinholes).";
  if (code === 701)
    return 'The router has no room for another pinhole: remove unused ones (`porthole unmap PORT --family ipv6`).';
  if (code === 704) return 'The router has no such pinhole (it expired or the router restarted).';
  return 'The router says why in the message; open the port in its IPv6 firewall settings by hand if it will not.';
}

/** A WANIPv6FirewallControl error answer, with its code. */
export class PinholeActionError extends PortholeError {
  readonly upnpCode: number;
  constructor(action: string, code: number, description: string, internalPort: number) {
    super('E_PINHOLE_REFUSED', {
      detail: `UPnP ${action}: ${code} ${description || PINHOLE_ERRORS[code] || ''}`.trim(),
      hint: explainPinholeRefusal(code, internalPort),
      data: { method: 'upnp', family: 6, upnpCode: code },
    });
    this.upnpCode = code;
  }
}

/** Options for an IGDv2 pinhole client. */
export interface UpnpPinholeClientOptions {
  /** The router's address the control URL names (its IPv6 LAN address). */
  readonly gateway: string;
  /** This host's global IPv6 address: the pinhole's InternalClient and the requests' source. */
  readonly internalAddress: string;
  /** WANIPv6FirewallControl's absolute control URL. */
  readonly controlUrl: string;
  readonly policy?: AddressPolicy;
}

/** What GetFirewallStatus says. */
export interface FirewallStatus {
  readonly firewallEnabled: boolean;
  readonly inboundPinholeAllowed: boolean;
}

/** An IGDv2 pinhole client; it remembers the pinholes it opened (IGDv2 cannot list them). */
export function createUpnpPinholeClient(
  options: UpnpPinholeClientOptions,
): MappingClient & { firewallStatus(signalOptions?: AbortOptions): Promise<FirewallStatus> } {
  const made = createMadeMappings('IGDv2 pinholes');

  async function call(
    action: string,
    args: ReadonlyArray<readonly [string, string | number]>,
    internalPort: number,
    signalOptions: AbortOptions,
  ): Promise<Record<string, string>> {
    const answer = await igdRequest(options.controlUrl, options.gateway, {
      method: 'POST',
      headers: {
        'content-type': 'text/xml; charset="utf-8"',
        soapaction: soapActionHeader(FIREWALL_SERVICE_TYPE, action),
      },
      body: encodeSoapRequest(FIREWALL_SERVICE_TYPE, action, args),
      localAddress: options.internalAddress,
      ...(options.policy ? { policy: options.policy } : {}),
      ...signalOptions,
    });
    const decoded = decodeSoapResponse(answer.body, action);
    if (!decoded.ok) throw new PinholeActionError(action, decoded.errorCode, decoded.errorDescription, internalPort);
    if (answer.status !== 200)
      throw new PortholeError('E_PINHOLE_REFUSED', { detail: `UPnP ${action}: HTTP ${answer.status}` });
    return decoded.values;
  }

  const lease = (seconds: number) =>
    Math.min(Math.max(seconds || MAX_PINHOLE_LEASE_SECONDS, 1), MAX_PINHOLE_LEASE_SECONDS);

  async function add(request: MappingRequest, signalOptions: AbortOptions): Promise<Mapping> {
    const lifetime = lease(request.lifetimeSeconds);
    const values = await call(
      'AddPinhole',
      [
        // Empty remote host and port 0: anyone on the internet may connect (the checker, users).
        ['RemoteHost', ''],
        ['RemotePort', 0],
        ['InternalClient', options.internalAddress],
        ['InternalPort', request.internalPort],
        ['Protocol', PROTOCOL_NUMBER[request.protocol]],
        ['LeaseTime', lifetime],
      ],
      request.internalPort,
      signalOptions,
    );
    const pinholeId = Number(values.UniqueID);
    if (!Number.isInteger(pinholeId))
      throw new PortholeError('E_PINHOLE_REFUSED', {
        detail: `AddPinhole answered no UniqueID ("${values.UniqueID}")`,
      });
    const mapping: Mapping = {
      method: 'upnp',
      family: 6,
      gateway: options.gateway,
      protocol: request.protocol,
      internalAddress: options.internalAddress,
      internalPort: request.internalPort,
      externalPort: request.internalPort,
      externalIp: options.internalAddress,
      lifetime,
      description: request.description,
      pinholeId,
    };
    made.remember(mapping);
    return mapping;
  }

  return {
    method: 'upnp',
    gateway: options.gateway,
    // No translation on IPv6: the address users reach is the host's own.
    externalIp: async () => options.internalAddress,
    async map(request, signalOptions = {}) {
      if (request.external !== undefined && request.external !== request.internalPort && request.external !== 'any')
        throw new PortholeError('E_USAGE', {
          detail: 'an IPv6 pinhole opens the port itself: there is no external port to choose (drop --external)',
        });
      return add(request, signalOptions);
    },
    async renew(mapping, signalOptions = {}) {
      if (mapping.pinholeId === undefined) return add(renewalOf(mapping), signalOptions);
      try {
        await call(
          'UpdatePinhole',
          [
            ['UniqueID', mapping.pinholeId],
            ['NewLeaseTime', lease(mapping.lifetime)],
          ],
          mapping.internalPort,
          signalOptions,
        );
        return mapping;
      } catch (error) {
        // The router forgot it (restart, expiry): open it again.
        if (gone(error)) return add(renewalOf(mapping), signalOptions);
        throw error;
      }
    },
    async unmap(mapping, signalOptions = {}) {
      if (mapping.pinholeId === undefined)
        throw new PortholeError('E_PINHOLE_REFUSED', {
          detail: 'an IGDv2 pinhole can only be deleted with its UniqueID',
        });
      try {
        await call('DeletePinhole', [['UniqueID', mapping.pinholeId]], mapping.internalPort, signalOptions);
      } catch (error) {
        // Already gone: nothing to remove.
        if (!gone(error)) throw error;
      }
      made.forget(mapping);
    },
    async list() {
      return made.entries();
    },
    async firewallStatus(signalOptions = {}) {
      const values = await call('GetFirewallStatus', [], 0, signalOptions);
      return {
        firewallEnabled: values.FirewallEnabled === '1',
        inboundPinholeAllowed: values.InboundPinholeAllowed === '1',
      };
    },
  };
}

/** The router no longer has this pinhole: 704 per IGDv2, 402 from miniupnpd 2.3.1 (see above). */
function gone(error: unknown): boolean {
  return error instanceof PinholeActionError && (error.upnpCode === 704 || error.upnpCode === 402);
}

function renewalOf(mapping: Mapping): MappingRequest {
  return {
    protocol: mapping.protocol,
    internalPort: mapping.internalPort,
    lifetimeSeconds: mapping.lifetime,
    description: mapping.description ?? '',
  };
}
