/**
 * SSDP for LAN discovery, pure: the M-SEARCH (built by the gateway's codec, which router
 * discovery already uses, with the IPv6 host form added here), and every message a device
 * sends back or announces: `HTTP/1.1 200 OK` search answers and `NOTIFY * HTTP/1.1` with
 * ssdp:alive or ssdp:byebye (UPnP Device Architecture 2.0, section 1).
 */

import { PortholeError } from '../errors/index.js';
import { encodeMSearch, MAX_SSDP_BYTES, SSDP_ADDRESS, SSDP_PORT } from '../gateway/index.js';

/** SSDP's IPv6 link-local group (UDA 2.0 1.1.2: FF02::C). */
export const SSDP_ADDRESS_V6 = 'ff02::c';
export { MAX_SSDP_BYTES, SSDP_ADDRESS, SSDP_PORT };

/**
 * The MX of our M-SEARCH (the gateway's encoder writes `MX: 1`): a device may wait up to this
 * long before answering (UDA 1.1 1.3.3), and miniupnpd does spread its ssdp:all answers over it.
 */
export const SSDP_MX_MS = 1000;

/** The search target that asks every device and service to answer. */
export const SSDP_ALL = 'ssdp:all';

/** An M-SEARCH for `searchTarget`, with the HOST header for the family of `group`. */
export function encodeSsdpSearch(searchTarget: string, group = SSDP_ADDRESS, port = SSDP_PORT): Uint8Array {
  const host = group.includes(':') ? `[${group.toUpperCase()}]:${port}` : `${group}:${port}`;
  return encodeMSearch(searchTarget, host);
}

/** A decoded SSDP message: a search answer or an announcement. */
export type SsdpMessage =
  | { readonly kind: 'answer'; readonly headers: ReadonlyMap<string, string> }
  | { readonly kind: 'alive' | 'byebye'; readonly headers: ReadonlyMap<string, string> }
  | { readonly kind: 'search'; readonly headers: ReadonlyMap<string, string> };

/** An NOTIFY ssdp:alive announcement, as devices send it (for tests and responders). */
export function encodeSsdpNotify(fields: {
  readonly nt: string;
  readonly usn: string;
  readonly location: string;
  readonly server?: string;
  readonly group?: string;
}): Uint8Array {
  const group = fields.group ?? SSDP_ADDRESS;
  const host = group.includes(':') ? `[${group.toUpperCase()}]:${SSDP_PORT}` : `${group}:${SSDP_PORT}`;
  return new TextEncoder().encode(
    [
      'NOTIFY * HTTP/1.1',
      `HOST: ${host}`,
      'CACHE-CONTROL: max-age=1800',
      `LOCATION: ${fields.location}`,
      `NT: ${fields.nt}`,
      'NTS: ssdp:alive',
      `SERVER: ${fields.server ?? 'porthole/1 UPnP/1.0 test/1'}`,
      `USN: ${fields.usn}`,
      '',
      '',
    ].join('\r\n'),
  );
}

function malformed(detail: string): PortholeError {
  return new PortholeError('E_DISCOVERY_MALFORMED', { detail: `SSDP: ${detail}` });
}

/** Reads an SSDP datagram; throws E_DISCOVERY_MALFORMED when it is not SSDP. */
export function decodeSsdpMessage(bytes: Uint8Array): SsdpMessage {
  if (bytes.length > MAX_SSDP_BYTES) throw malformed(`${bytes.length} bytes, more than ${MAX_SSDP_BYTES}`);
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  const [start, ...lines] = text.split(/\r?\n/);
  const headers = new Map<string, string>();
  for (const line of lines) {
    if (line === '') break;
    const colon = line.indexOf(':');
    if (colon <= 0) throw malformed(`a header line without a name: ${JSON.stringify(line.slice(0, 60))}`);
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  if (start && /^HTTP\/1\.[01] 200\b/i.test(start)) return { kind: 'answer', headers };
  if (start && /^NOTIFY \* HTTP\/1\.[01]$/i.test(start)) {
    const nts = (headers.get('nts') ?? '').toLowerCase();
    if (nts === 'ssdp:alive' || nts === 'ssdp:byebye')
      return { kind: nts === 'ssdp:alive' ? 'alive' : 'byebye', headers };
    throw malformed(`NOTIFY with NTS "${nts}"`);
  }
  if (start && /^M-SEARCH \* HTTP\/1\.[01]$/i.test(start)) return { kind: 'search', headers };
  throw malformed(`start line ${JSON.stringify((start ?? '').slice(0, 60))}`);
}

/** Where a device says it is: LOCATION's host and port (80 when the URL names none). */
export function locationEndpoint(location: string): { address: string; port: number } | undefined {
  try {
    const url = new URL(location);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
    const host = url.hostname.replace(/^\[|\]$/g, '');
    return { address: host, port: url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80 };
  } catch {
    return undefined;
  }
}
