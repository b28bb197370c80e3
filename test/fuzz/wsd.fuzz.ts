/** Fuzz target: WS-Discovery messages (decodeWsdMessage, src/discovery/wsdCodec.ts through src/gateway/xml.ts), as a discovery session hands datagrams over. */
import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import {
  decodeWsdMessage,
  encodeWsdProbe,
  encodeWsdProbeMatches,
  encodeWsdResolve,
  MAX_WSD_BYTES,
  type WsdMatch,
  type WsdMessage,
} from '../../src/discovery/wsdCodec.js';
import { type FuzzCase, type FuzzTarget, utf8 } from './runner.js';

const FOLDER = new URL('../fixtures/discovery/', import.meta.url);

const token = fc.stringMatching(/^[A-Za-z0-9:/._-]{1,40}$/);
const match: fc.Arbitrary<WsdMatch> = fc.record({
  endpoint: token.map((t) => `urn:uuid:${t}`),
  types: fc.array(token, { maxLength: 3 }),
  scopes: fc.array(token, { maxLength: 3 }),
  xaddrs: fc.array(
    fc.webUrl().filter((url) => !/\s/.test(url)),
    { maxLength: 2 },
  ),
  metadataVersion: fc.stringMatching(/^[0-9]{1,5}$/),
});

const valid: fc.Arbitrary<FuzzCase<WsdMessage>> = fc
  .record({ relatesTo: token, messageId: token, matches: fc.array(match, { minLength: 1, maxLength: 3 }) })
  .map(({ relatesTo, messageId, matches }) => ({
    bytes: encodeWsdProbeMatches(relatesTo, messageId, matches),
    expected: { kind: 'probe-matches', relatesTo, messageId, matches },
  }));

/** The ONVIF ProbeMatch fixture with its placeholders filled, as the lab's responder sends it. */
const onvif = readFileSync(new URL('onvif-probematch-gsoap-hikvision.xml', FOLDER), 'utf8')
  .replace('{{messageId}}', '0e0c7e7c-0c68-4bd5-9e5c-d1c1a0b2f3a4')
  .replace('{{relatesTo}}', 'urn:uuid:1b1d4d3a-6f0e-4a36-9b8e-2b1d2a7c9d10')
  .replace('{{address}}', '192.168.77.30')
  .replace('{{port}}', '8000');

/** The target. */
export const target: FuzzTarget<WsdMessage> = {
  name: 'wsd',
  decoder: 'decodeWsdMessage (src/discovery/wsdCodec.ts, src/gateway/xml.ts)',
  rejectCodes: ['E_DISCOVERY_MALFORMED'],
  seeds: [
    utf8(onvif),
    // wsdd's answers captured in the lab (test/fixtures/discovery/wsdd-*.xml), when present.
    ...readdirSync(FOLDER)
      .filter((file) => file.startsWith('wsdd-') && file.endsWith('.xml'))
      .map((file) => new Uint8Array(readFileSync(new URL(file, FOLDER)))),
    encodeWsdProbe('wsdp:Device', 'urn:uuid:5b2c'),
    encodeWsdResolve('urn:uuid:3fa1fe68-b915-4053-a3e1-c4f3b2a1d0e9', 'urn:uuid:77aa'),
  ],
  valid,
  maxBytes: MAX_WSD_BYTES + 64,
  decode: (bytes) => decodeWsdMessage(bytes),
};
