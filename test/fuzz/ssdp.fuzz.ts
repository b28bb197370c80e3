/** Fuzz target: SSDP answers (decodeSsdpAnswer, src/gateway/ssdpCodec.ts), as discovery hands datagrams over. */
import fc from 'fast-check';
import { decodeSsdpAnswer, MAX_SSDP_BYTES, type SsdpAnswer } from '../../src/gateway/ssdpCodec.js';
import { encodeSsdpAnswer } from '../support/routerWire.js';
import { captures, type FuzzCase, type FuzzTarget, utf8 } from './runner.js';

/** A header value as routers write them: visible ASCII and spaces, no line breaks, trimmed. */
const headerValue = fc
  .string({
    unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:/._-"; '),
    maxLength: 80,
  })
  .map((value) => value.trim());

const valid: fc.Arbitrary<FuzzCase<SsdpAnswer>> = fc
  .record({
    location: fc.webUrl().filter((url) => url.length < 300),
    searchTarget: headerValue,
    usn: headerValue,
    server: headerValue,
  })
  .map((answer) => ({ bytes: utf8(encodeSsdpAnswer(answer)), expected: answer }));

/** The target. */
export const target: FuzzTarget<SsdpAnswer> = {
  name: 'ssdp',
  decoder: 'decodeSsdpAnswer (src/gateway/ssdpCodec.ts)',
  rejectCodes: [],
  seeds: [
    // miniupnpd 2.3.1's unicast answer to porthole's M-SEARCH in the lab (test/fixtures/gateway/).
    ...captures('miniupnpd-2.3.1-ssdp-'),
    // Lower-case headers and bare LF, as some embedded stacks send.
    utf8('HTTP/1.1 200 OK\nlocation: http://192.168.1.1:1900/igd.xml\nst: upnp:rootdevice\nusn: uuid:x\n\n'),
    // A NOTIFY that reaches a unicast socket: not an answer.
    utf8(
      'NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nLOCATION: http://192.168.1.1/x\r\nNTS: ssdp:alive\r\n\r\n',
    ),
  ],
  valid,
  maxBytes: MAX_SSDP_BYTES + 64,
  decode: (bytes) => decodeSsdpAnswer(bytes),
};
