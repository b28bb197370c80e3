/** Fuzz target: SOAP answers (decodeSoapResponse, src/gateway/soapCodec.ts + xml.ts), as the UPnP client hands the body over. */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { decodeSoapResponse, type SoapAnswer } from '../../src/gateway/soapCodec.js';
import { encodeSoapAnswer, encodeSoapFault } from '../support/routerWire.js';
import { type FuzzCase, type FuzzTarget, utf8 } from './runner.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/igd/${name}`, import.meta.url));
const SERVICE = 'urn:schemas-upnp-org:service:WANIPConnection:2';
/** The action whose answer is read; the captures are answers to these. */
const ACTIONS = ['GetExternalIPAddress', 'AddPortMapping', 'GetGenericPortMappingEntry', 'GetSpecificPortMappingEntry'];

const plain = fc
  .string({
    unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .:-_'),
    maxLength: 40,
  })
  .map((value) => value.trim());
const argumentName = fc
  .string({
    unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'),
    minLength: 1,
    maxLength: 20,
  })
  .map((name) => `New${name}`);

/** Input: the action to read, then the body (the first byte picks the action). */
function split(bytes: Uint8Array): { action: string; body: string } {
  return {
    action: ACTIONS[(bytes[0] ?? 0) % ACTIONS.length] ?? 'GetExternalIPAddress',
    body: Buffer.from(bytes.subarray(1)).toString('utf8'),
  };
}
function join(actionIndex: number, body: string | Uint8Array): Uint8Array {
  const text = typeof body === 'string' ? utf8(body) : body;
  return new Uint8Array([actionIndex, ...text]);
}

const valid: fc.Arbitrary<FuzzCase<SoapAnswer>> = fc.oneof(
  fc
    .record({
      action: fc.nat(ACTIONS.length - 1),
      values: fc.uniqueArray(fc.tuple(argumentName, plain), { maxLength: 8, selector: ([name]) => name }),
    })
    .map(({ action, values }) => ({
      bytes: join(action, encodeSoapAnswer(SERVICE, ACTIONS[action] ?? '', values)),
      expected: { ok: true as const, values: Object.fromEntries(values) },
    })),
  fc
    .record({ action: fc.nat(ACTIONS.length - 1), code: fc.integer({ min: 1, max: 999 }), description: plain })
    .filter(({ description }) => description !== '')
    .map(({ action, code, description }) => ({
      bytes: join(action, encodeSoapFault(code, description)),
      expected: { ok: false as const, errorCode: code, errorDescription: description },
    })),
);

/** The target. */
export const target: FuzzTarget<SoapAnswer> = {
  name: 'soap',
  decoder: 'decodeSoapResponse (src/gateway/soapCodec.ts, src/gateway/xml.ts)',
  rejectCodes: ['E_XML_REFUSED'],
  seeds: [
    join(0, fixture('miniupnpd-2.3.1-GetExternalIPAddress.xml')),
    join(1, fixture('miniupnpd-2.3.1-AddPortMapping-718.xml')),
    join(1, fixture('miniupnpd-2.3.1-AddPortMapping-606.xml')),
    join(2, fixture('miniupnpd-2.3.1-GetGenericPortMappingEntry.xml')),
    join(2, fixture('miniupnpd-2.3.1-GetGenericPortMappingEntry-713.xml')),
    join(3, fixture('miniupnpd-2.3.1-GetSpecificPortMappingEntry-714.xml')),
    join(1, fixture('soap-725-only-permanent-leases.xml')),
    join(1, fixture('soap-402-invalid-args-on-lease.xml')),
  ],
  valid,
  maxBytes: 4096,
  decode: (bytes) => {
    const { action, body } = split(bytes);
    return decodeSoapResponse(body, action);
  },
};
