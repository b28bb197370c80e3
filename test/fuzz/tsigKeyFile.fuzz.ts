/** Fuzz target: TSIG key files as tsig-keygen writes them (parseTsigKeyFile, src/dns/keyFile.ts), read from disk by `name set --tsig-key`. */
import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { parseTsigKeyFile } from '../../src/dns/keyFile.js';
import type { TsigAlgorithm } from '../../src/dns/tsig.js';
import { type FuzzCase, type FuzzTarget, utf8 } from './runner.js';

/** What porthole keeps of a key file (the secret as base64, for comparison). */
interface Key {
  readonly name: string;
  readonly algorithm: TsigAlgorithm;
  readonly secret: string;
}

const FOLDER = new URL('../fixtures/dns/', import.meta.url);

const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,14}[a-z0-9])?$/);
const valid: fc.Arbitrary<FuzzCase<Key>> = fc
  .record({
    name: fc.array(label, { minLength: 1, maxLength: 3 }).map((labels) => labels.join('.')),
    algorithm: fc.constantFrom<TsigAlgorithm>('hmac-sha256', 'hmac-sha512', 'hmac-sha1'),
    secret: fc.uint8Array({ minLength: 1, maxLength: 64 }).map((bytes) => Buffer.from(bytes).toString('base64')),
    comment: fc.constantFrom('', '# made by tsig-keygen\n', '// a comment with "quotes"\n', '/* block */\n'),
    quoted: fc.boolean(),
  })
  .map(({ name, algorithm, secret, comment, quoted }) => ({
    bytes: utf8(
      `${comment}key ${quoted ? `"${name}"` : name} {\n\talgorithm ${algorithm};\n\tsecret "${secret}";\n};\n`,
    ),
    expected: { name, algorithm, secret },
  }));

/** The target. */
export const target: FuzzTarget<Key> = {
  name: 'tsigKeyFile',
  decoder: 'parseTsigKeyFile (src/dns/keyFile.ts)',
  rejectCodes: ['E_DNS_KEY_FILE'],
  seeds: [
    // tsig-keygen's own output (BIND 9.18, the version the lab runs), test/fixtures/dns/*.key.
    ...readdirSync(FOLDER)
      .filter((file) => file.endsWith('.key'))
      .map((file) => new Uint8Array(readFileSync(new URL(file, FOLDER)))),
    utf8('key "a.b" { algorithm hmac-md5; secret "AAAA"; };\n'),
    utf8('key x { algorithm "hmac-sha1."; secret "ab//cd/*ef=="; }; key y { };'),
  ],
  valid,
  maxBytes: 4096,
  decode: (bytes) => {
    const key = parseTsigKeyFile(Buffer.from(bytes).toString('utf8'), 'fuzz.key');
    return { name: key.name, algorithm: key.algorithm, secret: key.secret.toString('base64') };
  },
};
