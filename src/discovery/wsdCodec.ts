/**
 * WS-Discovery (OASIS 2005/04, the version ONVIF and Windows use), pure: Probe and Resolve
 * out, ProbeMatches and ResolveMatches (and Hello) in. XML goes through the project's safe
 * parser (src/gateway/xml.ts): a DOCTYPE or entity declaration is refused before parsing.
 */
import { PortholeError } from '../errors/index.js';
import { child, list, parseRouterXml, text, type XmlNode } from '../gateway/index.js';

/** WS-Discovery's group and port (SOAP-over-UDP, WS-Discovery 2005/04 section 2.4). */
export const WSD_ADDRESS = '239.255.255.250';
export const WSD_ADDRESS_V6 = 'ff02::c';
export const WSD_PORT = 3702;
/**
 * A ProbeMatch is a few KiB; wsdd itself reads at most 32767 bytes. Larger datagrams are
 * refused before any parsing.
 */
export const MAX_WSD_BYTES = 32_767;

/** The ONVIF camera type (ONVIF Core spec 7.3.2: dn = http://www.onvif.org/ver10/network/wsdl). */
export const ONVIF_TYPE = 'dn:NetworkVideoTransmitter';
/** The DPWS device type; wsdd answers only a Probe whose Types is exactly this text. */
export const DPWS_DEVICE_TYPE = 'wsdp:Device';

const NS = {
  soap: 'http://www.w3.org/2003/05/soap-envelope',
  wsa: 'http://schemas.xmlsoap.org/ws/2004/08/addressing',
  wsd: 'http://schemas.xmlsoap.org/ws/2005/04/discovery',
  dn: 'http://www.onvif.org/ver10/network/wsdl',
  wsdp: 'http://schemas.xmlsoap.org/ws/2006/02/devprof',
  tds: 'http://www.onvif.org/ver10/device/wsdl',
} as const;
const ACTION = {
  probe: `${NS.wsd}/Probe`,
  probeMatches: `${NS.wsd}/ProbeMatches`,
  resolve: `${NS.wsd}/Resolve`,
  resolveMatches: `${NS.wsd}/ResolveMatches`,
  hello: `${NS.wsd}/Hello`,
} as const;
const DISCOVERY_TO = 'urn:schemas-xmlsoap-org:ws:2005:04:discovery';

function escapeXml(value: string): string {
  return value.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function envelope(action: string, messageId: string, body: string, relatesTo?: string, to = DISCOVERY_TO): Uint8Array {
  const xmlns = Object.entries(NS)
    .map(([prefix, uri]) => `xmlns:${prefix}="${uri}"`)
    .join(' ');
  const related = relatesTo ? `<wsa:RelatesTo>${escapeXml(relatesTo)}</wsa:RelatesTo>` : '';
  return new TextEncoder().encode(
    `<?xml version="1.0" encoding="UTF-8"?><soap:Envelope ${xmlns}><soap:Header><wsa:To>${escapeXml(to)}</wsa:To><wsa:Action>${action}</wsa:Action><wsa:MessageID>${escapeXml(messageId)}</wsa:MessageID>${related}</soap:Header><soap:Body>${body}</soap:Body></soap:Envelope>`,
  );
}

/**
 * A Probe for one type (a prefixed QName whose prefix this envelope declares: dn, wsdp, tds).
 * Repeats of a probe must carry the same MessageID (SOAP-over-UDP: receivers drop duplicates).
 */
export function encodeWsdProbe(type: string, messageId: string): Uint8Array {
  return envelope(ACTION.probe, messageId, `<wsd:Probe><wsd:Types>${escapeXml(type)}</wsd:Types></wsd:Probe>`);
}

/** A Resolve for an endpoint whose ProbeMatch named no XAddrs (wsdd's never do). */
export function encodeWsdResolve(endpoint: string, messageId: string): Uint8Array {
  return envelope(
    ACTION.resolve,
    messageId,
    `<wsd:Resolve><wsa:EndpointReference><wsa:Address>${escapeXml(endpoint)}</wsa:Address></wsa:EndpointReference></wsd:Resolve>`,
  );
}

/** One endpoint from a ProbeMatch, ResolveMatch or Hello. */
export interface WsdMatch {
  readonly endpoint: string;
  readonly types: readonly string[];
  readonly scopes: readonly string[];
  readonly xaddrs: readonly string[];
  readonly metadataVersion: string;
}

/** A decoded WS-Discovery message, as far as discovery needs it. */
export type WsdMessage =
  | {
      readonly kind: 'probe-matches' | 'resolve-matches' | 'hello';
      readonly relatesTo: string;
      readonly messageId: string;
      readonly matches: readonly WsdMatch[];
    }
  | { readonly kind: 'probe'; readonly messageId: string; readonly types: readonly string[] }
  | { readonly kind: 'other'; readonly action: string; readonly messageId: string };

/** A ProbeMatches answer, as a responder sends it (our ONVIF camera fixture, tests). */
export function encodeWsdProbeMatches(relatesTo: string, messageId: string, matches: readonly WsdMatch[]): Uint8Array {
  return encodeMatches('Probe', relatesTo, messageId, matches);
}

/** A ResolveMatches answer (WS-Discovery 6.2), as wsdd sends it after a Resolve (tests). */
export function encodeWsdResolveMatches(relatesTo: string, messageId: string, match: WsdMatch): Uint8Array {
  return encodeMatches('Resolve', relatesTo, messageId, [match]);
}

function encodeMatches(
  kind: 'Probe' | 'Resolve',
  relatesTo: string,
  messageId: string,
  matches: readonly WsdMatch[],
): Uint8Array {
  const body = matches
    .map(
      (m) =>
        `<wsd:${kind}Match><wsa:EndpointReference><wsa:Address>${escapeXml(m.endpoint)}</wsa:Address></wsa:EndpointReference><wsd:Types>${escapeXml(m.types.join(' '))}</wsd:Types><wsd:Scopes>${escapeXml(m.scopes.join(' '))}</wsd:Scopes><wsd:XAddrs>${escapeXml(m.xaddrs.join(' '))}</wsd:XAddrs><wsd:MetadataVersion>${escapeXml(m.metadataVersion)}</wsd:MetadataVersion></wsd:${kind}Match>`,
    )
    .join('');
  return envelope(
    kind === 'Probe' ? ACTION.probeMatches : ACTION.resolveMatches,
    messageId,
    `<wsd:${kind}Matches>${body}</wsd:${kind}Matches>`,
    relatesTo,
    'http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous',
  );
}

function malformed(detail: string, cause?: unknown): PortholeError {
  return new PortholeError('E_DISCOVERY_MALFORMED', { detail: `WS-Discovery: ${detail}`, cause });
}

/** An element's text, entity references resolved (src/gateway/xml.ts). */
const value = text;

function words(node: XmlNode | XmlNode[] | undefined): string[] {
  return value(node).split(/\s+/).filter(Boolean);
}

function matchOf(node: XmlNode): WsdMatch {
  const endpoint = value(child(child(node, 'EndpointReference'), 'Address'));
  if (!endpoint) throw malformed('a match without an EndpointReference Address');
  return {
    endpoint,
    types: words(child(node, 'Types')),
    scopes: words(child(node, 'Scopes')),
    xaddrs: words(child(node, 'XAddrs')),
    metadataVersion: value(child(node, 'MetadataVersion')),
  };
}

/** Reads a WS-Discovery datagram; throws E_DISCOVERY_MALFORMED (DOCTYPE, bad XML, not SOAP). */
export function decodeWsdMessage(bytes: Uint8Array): WsdMessage {
  if (bytes.length > MAX_WSD_BYTES) throw malformed(`${bytes.length} bytes, more than ${MAX_WSD_BYTES}`);
  let root: XmlNode;
  try {
    root = parseRouterXml(new TextDecoder('utf-8', { fatal: true }).decode(bytes), 'WS-Discovery message');
  } catch (error) {
    throw malformed(error instanceof PortholeError ? (error.detail ?? error.message) : 'not UTF-8', error);
  }
  const soap = child(root, 'Envelope');
  const header = child(soap, 'Header');
  const body = child(soap, 'Body');
  if (header === undefined || body === undefined) throw malformed('not a SOAP envelope with Header and Body');
  const action = value(child(header, 'Action'));
  const messageId = value(child(header, 'MessageID'));
  const relatesTo = value(child(header, 'RelatesTo'));
  switch (action) {
    case ACTION.probeMatches:
      return {
        kind: 'probe-matches',
        relatesTo,
        messageId,
        matches: list(child(child(body, 'ProbeMatches'), 'ProbeMatch')).map(matchOf),
      };
    case ACTION.resolveMatches:
      return {
        kind: 'resolve-matches',
        relatesTo,
        messageId,
        matches: list(child(child(body, 'ResolveMatches'), 'ResolveMatch')).map(matchOf),
      };
    case ACTION.hello:
      return { kind: 'hello', relatesTo, messageId, matches: list(child(body, 'Hello')).map(matchOf) };
    case ACTION.probe:
      return { kind: 'probe', messageId, types: words(child(child(body, 'Probe'), 'Types')) };
    default:
      if (!action) throw malformed('no wsa:Action header');
      return { kind: 'other', action, messageId };
  }
}

/** The local part of a QName (`dn:NetworkVideoTransmitter` → `NetworkVideoTransmitter`). */
export function localType(qname: string): string {
  return qname.slice(qname.indexOf(':') + 1);
}
