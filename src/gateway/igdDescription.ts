/**
 * An Internet Gateway Device's description (the XML at its SSDP LOCATION), pure: the WAN
 * connection services it offers and their control URLs, resolved against URLBase when the
 * device gives one (IGD v1 does, v2 usually not) and against LOCATION otherwise.
 */
import { child, list, parseRouterXml, text, type XmlNode } from './xml.js';

/** The WAN connection services porthole can use, preferred first. */
export const WAN_SERVICE_TYPES = [
  'urn:schemas-upnp-org:service:WANIPConnection:2',
  'urn:schemas-upnp-org:service:WANIPConnection:1',
  'urn:schemas-upnp-org:service:WANPPPConnection:1',
] as const;

/** IGDv2's IPv6 firewall service: pinholes (AddPinhole, UpdatePinhole, DeletePinhole). */
export const FIREWALL_SERVICE_TYPE = 'urn:schemas-upnp-org:service:WANIPv6FirewallControl:1';

/** One usable WAN connection service. */
export interface WanService {
  readonly serviceType: (typeof WAN_SERVICE_TYPES)[number];
  /** The absolute control URL. */
  readonly controlUrl: string;
}

/** What porthole needs from a description. */
export interface IgdDescription {
  readonly friendlyName: string;
  readonly deviceType: string;
  /** The services, best first. */
  readonly services: readonly WanService[];
  /** The absolute control URL of WANIPv6FirewallControl (IGDv2), when the device has it. */
  readonly firewallControlUrl?: string;
}

function collectServices(device: XmlNode, found: { serviceType: string; controlUrl: string }[]): void {
  for (const service of list(child(child(device, 'serviceList'), 'service'))) {
    found.push({ serviceType: text(child(service, 'serviceType')), controlUrl: text(child(service, 'controlURL')) });
  }
  for (const nested of list(child(child(device, 'deviceList'), 'device'))) collectServices(nested, found);
}

/**
 * The absolute URL, or undefined when it is empty or does not resolve. A control URL or URLBase
 * that is not a URL (`p://>`, found by fuzzing) made `new URL` throw a TypeError out of the parser;
 * such a service is now skipped like one without a control URL.
 */
function resolveUrl(url: string, base: string): string | undefined {
  if (url === '') return undefined;
  try {
    return new URL(url, base).href;
  } catch {
    return undefined;
  }
}

/** Parses a description fetched from `location`. Throws E_XML_REFUSED for unsafe or broken XML. */
export function parseIgdDescription(xml: string, location: string): IgdDescription {
  const root = child(parseRouterXml(xml, 'IGD description'), 'root');
  const base = text(child(root, 'URLBase')) || location;
  const device = list(child(root, 'device'))[0] ?? {};
  const found: { serviceType: string; controlUrl: string }[] = [];
  collectServices(device, found);
  const services = WAN_SERVICE_TYPES.flatMap((serviceType) =>
    found.flatMap((service) => {
      const controlUrl = service.serviceType === serviceType ? resolveUrl(service.controlUrl, base) : undefined;
      return controlUrl ? [{ serviceType, controlUrl }] : [];
    }),
  );
  const firewall = found.find((service) => service.serviceType === FIREWALL_SERVICE_TYPE && service.controlUrl !== '');
  return {
    friendlyName: text(child(device, 'friendlyName')),
    deviceType: text(child(device, 'deviceType')),
    services,
    ...(firewall ? { firewallControlUrl: new URL(firewall.controlUrl, base).href } : {}),
  };
}
