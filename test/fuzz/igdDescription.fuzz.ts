/** Fuzz target: IGD descriptions (parseIgdDescription, src/gateway/igdDescription.ts + xml.ts), as igdRequest hands the body over. */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { type IgdDescription, parseIgdDescription, WAN_SERVICE_TYPES } from '../../src/gateway/igdDescription.js';

import { encodeIgdDescription } from '../support/routerWire.js';
import { type FuzzCase, type FuzzTarget, utf8 } from './runner.js';

const LOCATION = 'http://192.168.77.1:5000/rootDesc.xml';
const fixture = (name: string) => readFileSync(new URL(`../fixtures/igd/${name}`, import.meta.url));

/** Text as routers write it: no markup characters (the parser keeps entities as written), no edge spaces. */
const plain = fc
  .string({
    unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .:-_()'),
    maxLength: 40,
  })
  .map((value) => value.trim());
const path = fc
  .array(
    fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789_-.'), minLength: 1, maxLength: 12 }),
    {
      minLength: 1,
      maxLength: 4,
    },
  )
  .map((parts) => `/${parts.join('/')}`);
const serviceType = fc.constantFrom(
  ...WAN_SERVICE_TYPES,
  'urn:schemas-upnp-org:service:Layer3Forwarding:1',
  'urn:schemas-upnp-org:service:WANCommonInterfaceConfig:1',
);

const valid: fc.Arbitrary<FuzzCase<IgdDescription>> = fc
  .record({
    friendlyName: plain,
    deviceType: fc.constantFrom(
      'urn:schemas-upnp-org:device:InternetGatewayDevice:1',
      'urn:schemas-upnp-org:device:InternetGatewayDevice:2',
    ),
    services: fc.array(fc.record({ serviceType, controlUrl: path }), { maxLength: 5 }),
    urlBase: fc.option(fc.constantFrom('http://192.168.1.1:49152/', 'http://10.0.0.138:80'), { nil: undefined }),
  })
  .map((fields) => {
    const base = fields.urlBase ?? LOCATION;
    const services = WAN_SERVICE_TYPES.flatMap((type) =>
      fields.services
        .filter((service) => service.serviceType === type)
        .map((service) => ({ serviceType: type, controlUrl: new URL(service.controlUrl, base).href })),
    );
    return {
      bytes: utf8(encodeIgdDescription(fields)),
      expected: { friendlyName: fields.friendlyName, deviceType: fields.deviceType, services },
    };
  });

/** The target. */
export const target: FuzzTarget<IgdDescription> = {
  name: 'igdDescription',
  decoder: 'parseIgdDescription (src/gateway/igdDescription.ts, src/gateway/xml.ts)',
  rejectCodes: ['E_XML_REFUSED'],
  seeds: [
    fixture('miniupnpd-2.3.1-rootDesc.xml'),
    fixture('igd1-urlbase-wanppp-only.xml'),
    fixture('odd-namespace-prefixes.xml'),
    fixture('entity-bomb.xml'),
  ],
  valid,
  maxBytes: 8192,
  decode: (bytes) => parseIgdDescription(Buffer.from(bytes).toString('utf8'), LOCATION),
};
