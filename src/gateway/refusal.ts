/**
 * What a router's refusal means, told apart by protocol and code, and the coded errors that carry
 * it. One code can mean two things on different routers (NAT-PMP's NOT_AUTHORIZED is the answer
 * both to a host its rules deny and to a router with mapping switched off; miniupnpd answers PCP's
 * NO_RESOURCES when it has no usable public address); where porthole cannot tell which, the
 * meaning says both, and so does the fix.
 */
import { PortholeError } from '../errors/index.js';
import type { MappingMethod } from './types.js';

/** Said when the router answers "network failure" and the like: it has no public address to map on. */
const NO_PUBLIC_ADDRESS_HINT =
  'The router has no usable public address (behind a carrier NAT, or its WAN is down): no mapping on it can work.';

/** Why a router refused, by cause: each has its own fix. */
export type RefusalReason =
  /** Its permission rules (or its settings) do not let this host map that port. */
  | 'policy'
  /** Another host (or a forward set by hand) holds that external port. */
  | 'taken'
  /** It has no usable public address, or its WAN is down. */
  | 'no-public-address'
  /** No port free, or its table is full. */
  | 'no-resources'
  /** The request was not accepted as written (a router quirk, or a protocol detail it lacks). */
  | 'malformed'
  /** The router saw another source address than the one in the request: a NAT between. */
  | 'address-mismatch'
  /** It does not do this at all (an action, an opcode, an option, a protocol). */
  | 'unsupported'
  /** Only permanent leases (UPnP 725): porthole retries with one. */
  | 'lease';

/** A refusal's cause, what the router's code means (both meanings when it has two), and the fix. */
export interface RefusalMeaning {
  readonly reason: RefusalReason;
  /** What the answer means, said plainly. */
  readonly meaning: string;
  /** What a person does about it. */
  readonly fix: string;
}

const FIX: Readonly<Record<RefusalReason, string>> = {
  policy:
    'In the router\'s settings, let this host map ports (the UPnP / NAT-PMP page: "allow this device to change port forwards", or its access rules), or forward the port by hand; a relay needs no router at all.',
  taken:
    'Another device holds that external port: map another external port to it (`--external PORT`, or a range with `--external START-END`), or free the port on the router.',
  'no-public-address': NO_PUBLIC_ADDRESS_HINT,
  'no-resources':
    "The router has no room for another mapping: remove old ones (`porthole mappings`, the router's page) or map fewer ports; if its table is empty, its forwarding itself is failing (restart it).",
  malformed:
    'The router did not accept the request as porthole wrote it (a router quirk): forward the port by hand, and report the router model with the --verbose output.',
  'address-mismatch':
    'Something between this host and the router rewrites addresses (a second NAT, a VPN): ask the router that is really in front of this host, or forward by hand.',
  unsupported: 'The router does not offer this: use another protocol (--via), or forward the port by hand.',
  lease: 'The router keeps only permanent mappings: porthole asks for one and removes it itself.',
};

function meaning(reason: RefusalReason, text: string): RefusalMeaning {
  return { reason, meaning: text, fix: FIX[reason] };
}

/** NAT-PMP result codes (RFC 6886 section 3.5). */
const NATPMP: Readonly<Record<number, RefusalMeaning>> = {
  1: meaning('unsupported', 'the router does not speak this NAT-PMP version'),
  2: meaning(
    'policy',
    'NOT_AUTHORIZED: its rules do not let this host map that port, or mapping is switched off in its settings (NAT-PMP answers the same for both)',
  ),
  3: meaning('no-public-address', 'NETWORK_FAILURE: the router has no public address (no WAN, or a carrier NAT)'),
  4: meaning(
    'no-resources',
    'OUT_OF_RESOURCES: no external port it may give is free, or its mapping table is full (the same answer for both)',
  ),
  5: meaning('unsupported', 'UNSUPPORTED_OPCODE'),
};

/** PCP result codes (RFC 6887 section 7.4). */
const PCP: Readonly<Record<number, RefusalMeaning>> = {
  1: meaning('unsupported', 'UNSUPP_VERSION: the router speaks NAT-PMP only'),
  2: meaning(
    'policy',
    'NOT_AUTHORIZED: its rules do not let this host map that port (or a mapping with another nonce owns it)',
  ),
  3: meaning('malformed', 'MALFORMED_REQUEST'),
  4: meaning('unsupported', 'UNSUPP_OPCODE'),
  5: meaning('unsupported', 'UNSUPP_OPTION'),
  6: meaning('malformed', 'MALFORMED_OPTION'),
  7: meaning('no-public-address', 'NETWORK_FAILURE: the router has no public address'),
  8: meaning(
    'no-resources',
    'NO_RESOURCES: its table is full or no port it may give is free, or (miniupnpd) it could not add the forward because its port forwarding is off for want of a public address',
  ),
  9: meaning('unsupported', 'UNSUPP_PROTOCOL'),
  10: meaning('no-resources', 'USER_EX_QUOTA: this host has as many mappings as the router allows it'),
  11: meaning(
    'taken',
    'CANNOT_PROVIDE_EXTERNAL: it will not give that external port: another host holds it, or its rules do not allow it (PCP answers the same for both)',
  ),
  12: meaning(
    'address-mismatch',
    'ADDRESS_MISMATCH: the router saw the request come from another address than the one inside it',
  ),
};

/** UPnP IGD error codes (WANIPConnection:2 section 2.4). */
const UPNP: Readonly<Record<number, RefusalMeaning>> = {
  401: meaning('unsupported', '401 Invalid Action: the router does not offer this action'),
  402: meaning('malformed', '402 Invalid Args'),
  501: meaning(
    'no-public-address',
    '501 Action Failed: the router could not add the forward: on miniupnpd its port forwarding is off (no usable public address); on others a failure it does not name, often UPnP set to read-only',
  ),
  606: meaning(
    'policy',
    '606 Action not authorized: its rules do not let this host map that port, or UPnP is set to let programs read but not change forwards (routers answer 606 for both)',
  ),
  716: meaning('malformed', '716 WildCardNotPermittedInExtPort'),
  718: meaning('taken', '718 ConflictInMappingEntry: another host holds that external port'),
  724: meaning('malformed', '724 SamePortValuesRequired: the router maps a port only to the same port'),
  725: meaning('lease', '725 OnlyPermanentLeasesSupported'),
  726: meaning('malformed', '726 RemoteHostOnlySupportsWildcard'),
  727: meaning('malformed', '727 ExternalPortOnlySupportsWildcard'),
  728: meaning('no-resources', '728 NoPortMapsAvailable: its mapping table is full'),
  729: meaning(
    'taken',
    '729 ConflictWithOtherMechanisms: a forward set by hand (or another mechanism) holds that port',
  ),
};

/** What a router's code means for a protocol; an unknown code is named, with the generic fix. */
export function refusalMeaning(method: MappingMethod, code: number): RefusalMeaning {
  const table = method === 'upnp' ? UPNP : method === 'pcp' ? PCP : NATPMP;
  return table[code] ?? meaning('malformed', `${method === 'upnp' ? 'UPnP error' : 'result'} ${code}`);
}

/** E_GATEWAY_REFUSED (E_MAPPING_CONFLICT for a taken port) naming the method, the request, the router's reason and its fix. */
export function gatewayRefusal(
  method: MappingMethod,
  what: string,
  reason: string,
  result: number,
  options: { noPublicAddress?: boolean; data?: Record<string, unknown> } = {},
): PortholeError {
  const explained = refusalMeaning(method, result);
  const name = method === 'pcp' ? 'PCP' : method === 'natpmp' ? 'NAT-PMP' : 'UPnP';
  return new PortholeError(explained.reason === 'taken' ? 'E_MAPPING_CONFLICT' : 'E_GATEWAY_REFUSED', {
    detail: `${name} ${what}: ${explained.meaning.includes(reason) ? explained.meaning : `${reason} (${explained.meaning})`}`,
    hint: options.noPublicAddress ? NO_PUBLIC_ADDRESS_HINT : explained.fix,
    data: { method, result, reason: explained.reason, ...options.data },
  });
}

/**
 * E_GATEWAY_POLICY: the router's rules do not let this host map ports at all (every port asked,
 * and a port from the dynamic range, refused), with the address the rules name.
 */
export function policyRefusal(
  internalAddress: string,
  evidence: readonly string[],
  data: Record<string, unknown> = {},
): PortholeError {
  return new PortholeError('E_GATEWAY_POLICY', {
    detail: `this router's rules do not let ${internalAddress} map ports (${evidence.join('; ')})`,
    hint: `In the router's settings, allow ${internalAddress} to map ports (its UPnP / NAT-PMP / PCP access rules), or forward the port to ${internalAddress} by hand; without the router, use a relay (\`porthole expose PORT --relay ssh://USER@HOST\`).`,
    data: { reason: 'policy', internalAddress, evidence, ...data },
  });
}

/** E_MAPPING_CONFLICT when every port of an asked range was taken; `skipped` says by what. */
export function rangeExhausted(skipped: readonly { port: number; why: string }[]): PortholeError {
  return new PortholeError('E_MAPPING_CONFLICT', {
    detail: `no port of the range was free: ${skipped.map((s) => s.port).join(', ')}`,
    hint: FIX.taken,
    data: { skipped, reason: 'taken' },
  });
}
