/** SSDP (UPnP discovery) messages, pure: the M-SEARCH request and its unicast answers. */

/** Search targets for Internet Gateway Devices, most specific first. */
export const IGD_SEARCH_TARGETS = [
  'urn:schemas-upnp-org:device:InternetGatewayDevice:1',
  'urn:schemas-upnp-org:device:InternetGatewayDevice:2',
  'urn:schemas-upnp-org:service:WANIPConnection:1',
  'urn:schemas-upnp-org:service:WANIPConnection:2',
  'urn:schemas-upnp-org:service:WANPPPConnection:1',
] as const;

export const SSDP_ADDRESS = '239.255.255.250';
export const SSDP_PORT = 1900;
/** An SSDP answer is a handful of headers; anything longer is not one. */
export const MAX_SSDP_BYTES = 4096;

/** An M-SEARCH for one search target. MX 1: answer within a second. */
export function encodeMSearch(searchTarget: string, host = `${SSDP_ADDRESS}:${SSDP_PORT}`): Uint8Array {
  return new TextEncoder().encode(
    `M-SEARCH * HTTP/1.1\r\nHOST: ${host}\r\nMAN: "ssdp:discover"\r\nMX: 1\r\nST: ${searchTarget}\r\n\r\n`,
  );
}

/** The useful part of an SSDP answer. */
export interface SsdpAnswer {
  readonly location: string;
  readonly searchTarget: string;
  readonly usn: string;
  readonly server: string;
}

/** Reads an SSDP answer (`HTTP/1.1 200 OK` with headers, any case); undefined when it is not one. */
export function decodeSsdpAnswer(bytes: Uint8Array): SsdpAnswer | undefined {
  if (bytes.length > MAX_SSDP_BYTES) return undefined;
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  const [status, ...lines] = text.split(/\r?\n/);
  if (!status || !/^HTTP\/1\.[01] 200\b/i.test(status)) return undefined;
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const location = headers.get('location');
  if (!location) return undefined;
  return {
    location,
    searchTarget: headers.get('st') ?? '',
    usn: headers.get('usn') ?? '',
    server: headers.get('server') ?? '',
  };
}
