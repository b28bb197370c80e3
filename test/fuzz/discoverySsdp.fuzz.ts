/**
 * Fuzz target: SSDP messages heard by LAN discovery (decodeSsdpMessage and locationEndpoint,
 * src/discovery/ssdpCodec.ts): search answers, NOTIFY alive/byebye and others' M-SEARCHes, as
 * a discovery session hands datagrams over.
 */
import fc from 'fast-check';
import {
  decodeSsdpMessage,
  encodeSsdpNotify,
  locationEndpoint,
  MAX_SSDP_BYTES,
} from '../../src/discovery/ssdpCodec.js';
import { captures, type FuzzCase, type FuzzTarget, utf8 } from './runner.js';

/** What discovery keeps: the kind, the headers, and where LOCATION points. */
interface Heard {
  readonly kind: string;
  readonly headers: Record<string, string>;
  readonly endpoint: { address: string; port: number } | undefined;
}

const headerValue = fc
  .string({
    unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:/._-"; '),
    minLength: 1,
    maxLength: 80,
  })
  .map((value) => value.trim())
  .filter((value) => value !== '');

const valid: fc.Arbitrary<FuzzCase<Heard>> = fc
  .record({ nt: headerValue, usn: headerValue, location: fc.webUrl().filter((url) => url.length < 300) })
  .map(({ nt, usn, location }) => ({
    bytes: encodeSsdpNotify({ nt, usn, location, server: 'Linux/6 UPnP/1.0 MiniDLNA/1.3.3' }),
    expected: {
      kind: 'alive',
      headers: {
        host: '239.255.255.250:1900',
        'cache-control': 'max-age=1800',
        location,
        nt,
        nts: 'ssdp:alive',
        server: 'Linux/6 UPnP/1.0 MiniDLNA/1.3.3',
        usn,
      },
      endpoint: locationEndpoint(location),
    },
  }));

/** The target. */
export const target: FuzzTarget<Heard> = {
  name: 'discoverySsdp',
  decoder: 'decodeSsdpMessage, locationEndpoint (src/discovery/ssdpCodec.ts)',
  rejectCodes: ['E_DISCOVERY_MALFORMED'],
  seeds: [
    // miniupnpd 2.3.1's answer in the lab, and minidlna's and gssdp's when captured (test/fixtures/discovery/).
    ...captures('miniupnpd-2.3.1-ssdp-'),
    ...captures('minidlna-', 'discovery'),
    encodeSsdpNotify({
      nt: 'urn:schemas-upnp-org:device:MediaServer:1',
      usn: 'uuid:4d696e69-444c-164e-9d41-b827eb0a5f1e::urn:schemas-upnp-org:device:MediaServer:1',
      location: 'http://[fe80::1]:8200/rootDesc.xml',
      group: 'ff02::c',
    }),
    utf8(
      'NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nNT: upnp:rootdevice\r\nNTS: ssdp:byebye\r\nUSN: uuid:x\r\n\r\n',
    ),
    utf8('M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: "ssdp:discover"\r\nMX: 1\r\nST: ssdp:all\r\n\r\n'),
  ],
  valid,
  maxBytes: MAX_SSDP_BYTES + 64,
  decode: (bytes) => {
    const message = decodeSsdpMessage(bytes);
    return {
      kind: message.kind,
      headers: Object.fromEntries(message.headers),
      endpoint: locationEndpoint(message.headers.get('location') ?? ''),
    };
  },
};
