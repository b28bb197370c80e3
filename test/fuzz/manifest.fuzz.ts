/** Fuzz target: manifests, YAML and JSON (parseManifest, src/manifest/parse.ts), as loadManifest hands a file's text over. */
import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { parseManifest } from '../../src/manifest/parse.js';
import type { Manifest } from '../../src/manifest/types.js';
import { type FuzzCase, type FuzzTarget, utf8 } from './runner.js';

const examples = new URL('../../examples/', import.meta.url);
const broken = new URL('../fixtures/manifests/', import.meta.url);
const files = (folder: URL) =>
  readdirSync(folder)
    .filter((file) => /\.(ya?ml|json)$/.test(file))
    .map((file) => readFileSync(new URL(file, folder)));

const word = fc.string({
  unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-'),
  minLength: 1,
  maxLength: 20,
});
const name = fc.tuple(fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz'), word).map(([first, rest]) => first + rest);
const port = fc.integer({ min: 1, max: 65535 });
const portValue = fc.oneof(
  port,
  port.map(String),
  fc.tuple(port, port).map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`),
);
const description = fc.option(
  fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz ABC,;()#:-'), maxLength: 60 }),
  { nil: undefined },
);
const peers = fc.option(
  fc.array(
    fc.oneof(
      fc.ipV4(),
      fc.ipV4().map((ip) => `${ip}/24`),
      fc.domain(),
    ),
    { minLength: 1, maxLength: 3 },
  ),
  { nil: undefined },
);

/** One entry that is valid by construction: each direction with the fields it allows. */
const entry = fc.oneof(
  fc.record(
    {
      direction: fc.constant('inbound'),
      protocol: fc.constantFrom('tcp', 'udp', 'tcp+udp'),
      port: fc.oneof(portValue, fc.array(portValue, { minLength: 1, maxLength: 4 })),
      expose: fc.boolean(),
      required: fc.boolean(),
      description,
      peers,
    },
    { requiredKeys: ['direction', 'protocol', 'port'] },
  ),
  fc.record(
    {
      direction: fc.constant('outbound'),
      protocol: fc.constantFrom('tcp', 'udp', 'tcp+udp'),
      port: portValue,
      hosts: peers,
      description,
    },
    { requiredKeys: ['direction', 'protocol', 'port'] },
  ),
  fc.record({
    direction: fc.constant('multicast'),
    protocol: fc.constant('udp'),
    port,
    group: fc.constantFrom('224.0.0.251', '239.255.255.250', 'ff02::fb'),
  }),
);

const valid: fc.Arbitrary<FuzzCase<Manifest>> = fc
  .record({
    name,
    description,
    ports: fc.uniqueArray(fc.tuple(name, entry), { minLength: 1, maxLength: 6, selector: ([entryName]) => entryName }),
    json: fc.boolean(),
  })
  .map(({ name: manifestName, description: text, ports, json }) => {
    const raw = {
      name: manifestName,
      ...(text === undefined ? {} : { description: text }),
      ports: ports.map(([entryName, fields]) => ({
        name: entryName,
        ...Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)),
      })),
    };
    return {
      bytes: utf8(json ? JSON.stringify(raw, null, 2) : stringify(raw)),
      expected: {
        name: manifestName,
        description: text,
        entries: ports.map(([entryName, fields]) => ({
          name: entryName,
          direction: fields.direction,
          protocol: fields.protocol,
        })),
      } as unknown as Manifest,
    };
  });

/** The target. */
export const target: FuzzTarget<Manifest> = {
  name: 'manifest',
  decoder: 'parseManifest (src/manifest/parse.ts, src/manifest/schema.ts)',
  rejectCodes: ['E_MANIFEST_SYNTAX', 'E_MANIFEST_INVALID'],
  seeds: [...files(examples), ...files(broken)],
  valid,
  maxBytes: 4096,
  // About 250 inputs/s on the shared machine while other targets run: 10⁴ took 30-45 s of npm test.
  shortRuns: 3000,
  decode: (bytes) => parseManifest(Buffer.from(bytes).toString('utf8'), 'fuzz.yaml'),
  // What was written comes back: the name, the description and each entry's name, direction and protocol.
  same: (decoded, expected) =>
    decoded !== undefined &&
    decoded.name === expected.name &&
    decoded.description === expected.description &&
    JSON.stringify(decoded.entries.map((e) => [e.name, e.direction, e.protocol])) ===
      JSON.stringify(expected.entries.map((e) => [e.name, e.direction, e.protocol])),
};
