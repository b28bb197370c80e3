/**
 * The router's side of the wire, for tests: encoders for what a gateway sends (NAT-PMP and PCP
 * responses, SSDP answers, IGD descriptions, SOAP answers and faults). porthole's codecs only
 * decode these; the fake router speaks them and the fuzz targets round-trip through them, so an
 * encoder written from the RFC checks the decoder written from the same RFC, independently.
 */
import { parseIp } from '../../src/net/address.js';
import type { Transport } from '../../src/net/portSpec.js';

/** A NAT-PMP external-address response (RFC 6886 section 3.2): 12 bytes. */
export function encodeNatpmpExternalAddressResponse(result: number, epoch: number, externalIp: string): Uint8Array {
  const bytes = new Uint8Array(12);
  const view = new DataView(bytes.buffer);
  view.setUint8(1, 128);
  view.setUint16(2, result);
  view.setUint32(4, epoch);
  bytes.set(parseIp(externalIp).bytes.subarray(0, 4), 8);
  return bytes;
}

/** A NAT-PMP map response (RFC 6886 section 3.3): 16 bytes. */
export function encodeNatpmpMapResponse(fields: {
  protocol: Transport;
  result: number;
  epoch: number;
  internalPort: number;
  externalPort: number;
  lifetime: number;
}): Uint8Array {
  const bytes = new Uint8Array(16);
  const view = new DataView(bytes.buffer);
  view.setUint8(1, 128 + (fields.protocol === 'udp' ? 1 : 2));
  view.setUint16(2, fields.result);
  view.setUint32(4, fields.epoch);
  view.setUint16(8, fields.internalPort);
  view.setUint16(10, fields.externalPort);
  view.setUint32(12, fields.lifetime);
  return bytes;
}

/** A NAT-PMP answer of 8 bytes: what a NAT-PMP-only server says to an opcode or version it does not know. */
export function encodeNatpmpShortError(opcode: number, result: number, epoch: number): Uint8Array {
  const bytes = new Uint8Array(8);
  const view = new DataView(bytes.buffer);
  view.setUint8(1, 128 + (opcode & 0x7f));
  view.setUint16(2, result);
  view.setUint32(4, epoch);
  return bytes;
}

/** 16-byte PCP address: IPv6 as is, IPv4 as IPv4-mapped. */
export function pcpAddress(address: string): Uint8Array {
  const parsed = parseIp(address);
  if (parsed.family === 6) return parsed.bytes;
  const mapped = new Uint8Array(16);
  mapped[10] = 0xff;
  mapped[11] = 0xff;
  mapped.set(parsed.bytes, 12);
  return mapped;
}

/** A PCP response (RFC 6887 section 7.2), with a MAP body when `map` is given. */
export function encodePcpResponse(fields: {
  opcode: number;
  result: number;
  lifetime: number;
  epoch: number;
  map?: { nonce: Uint8Array; protocol: Transport; internalPort: number; externalPort: number; externalIp: string };
}): Uint8Array {
  const bytes = new Uint8Array(24 + (fields.map ? 36 : 0));
  const view = new DataView(bytes.buffer);
  view.setUint8(0, 2);
  view.setUint8(1, 0x80 | fields.opcode);
  view.setUint8(3, fields.result);
  view.setUint32(4, fields.lifetime);
  view.setUint32(8, fields.epoch);
  if (fields.map) {
    bytes.set(fields.map.nonce.subarray(0, 12), 24);
    view.setUint8(36, fields.map.protocol === 'tcp' ? 6 : 17);
    view.setUint16(40, fields.map.internalPort);
    view.setUint16(42, fields.map.externalPort);
    bytes.set(pcpAddress(fields.map.externalIp), 44);
  }
  return bytes;
}

/** A unicast SSDP answer to an M-SEARCH (UPnP Device Architecture 1.1 section 1.3.3). */
export function encodeSsdpAnswer(fields: {
  location: string;
  searchTarget: string;
  usn: string;
  server: string;
}): string {
  return [
    'HTTP/1.1 200 OK',
    'CACHE-CONTROL: max-age=120',
    `ST: ${fields.searchTarget}`,
    `USN: ${fields.usn}`,
    'EXT:',
    `SERVER: ${fields.server}`,
    `LOCATION: ${fields.location}`,
    '',
    '',
  ].join('\r\n');
}

function escapeXml(value: string): string {
  return value.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

/** An IGD description with one WAN connection service under WANDevice → WANConnectionDevice, as IGDs nest it. */
export function encodeIgdDescription(fields: {
  friendlyName: string;
  deviceType: string;
  services: readonly { serviceType: string; controlUrl: string }[];
  urlBase?: string;
}): string {
  const services = fields.services
    .map(
      (service) =>
        `<service><serviceType>${escapeXml(service.serviceType)}</serviceType><serviceId>urn:upnp-org:serviceId:WANIPConn1</serviceId>` +
        `<controlURL>${escapeXml(service.controlUrl)}</controlURL><eventSubURL>/evt</eventSubURL><SCPDURL>/scpd.xml</SCPDURL></service>`,
    )
    .join('');
  return (
    '<?xml version="1.0"?>\r\n<root xmlns="urn:schemas-upnp-org:device-1-0"><specVersion><major>1</major><minor>1</minor></specVersion>' +
    (fields.urlBase === undefined ? '' : `<URLBase>${escapeXml(fields.urlBase)}</URLBase>`) +
    `<device><deviceType>${escapeXml(fields.deviceType)}</deviceType><friendlyName>${escapeXml(fields.friendlyName)}</friendlyName>` +
    '<deviceList><device><deviceType>urn:schemas-upnp-org:device:WANDevice:1</deviceType>' +
    '<deviceList><device><deviceType>urn:schemas-upnp-org:device:WANConnectionDevice:1</deviceType>' +
    `<serviceList>${services}</serviceList></device></deviceList></device></deviceList></device></root>\r\n`
  );
}

/** A SOAP answer to `action` with its output arguments, in order. */
export function encodeSoapAnswer(
  serviceType: string,
  action: string,
  values: ReadonlyArray<readonly [string, string | number]>,
): string {
  const fields = values.map(([name, value]) => `<${name}>${escapeXml(String(value))}</${name}>`).join('');
  return (
    '<?xml version="1.0"?>\r\n<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">' +
    `<s:Body><u:${action}Response xmlns:u="${escapeXml(serviceType)}">${fields}</u:${action}Response></s:Body></s:Envelope>\r\n`
  );
}

/** A SOAP fault carrying a UPnP error, as routers send it with HTTP 500. */
export function encodeSoapFault(errorCode: number, errorDescription: string): string {
  return (
    '<?xml version="1.0"?>\r\n<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">' +
    '<s:Body><s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring><detail>' +
    `<UPnPError xmlns="urn:schemas-upnp-org:control-1-0"><errorCode>${errorCode}</errorCode>` +
    `<errorDescription>${escapeXml(errorDescription)}</errorDescription></UPnPError></detail></s:Fault></s:Body></s:Envelope>\r\n`
  );
}
