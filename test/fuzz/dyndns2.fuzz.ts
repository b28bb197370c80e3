/** Fuzz target: dyndns2 answers (decodeDyndns2Answer, src/dns/dyndns2.ts), as the HTTP client hands the body over. */
import fc from 'fast-check';
import { DYNDNS2_ANSWERS, type Dyndns2Answer, type Dyndns2Reply, decodeDyndns2Answer } from '../../src/dns/dyndns2.js';
import { type FuzzCase, type FuzzTarget, utf8 } from './runner.js';

const ANSWERS = Object.keys(DYNDNS2_ANSWERS) as Dyndns2Answer[];

const valid: fc.Arbitrary<FuzzCase<Dyndns2Reply>> = fc
  .record({
    answer: fc.constantFrom(...ANSWERS),
    address: fc.option(fc.oneof(fc.ipV4(), fc.ipV6()), { nil: undefined }),
    // One line per host when several were updated: only the first is read.
    more: fc.array(fc.constantFrom('good 192.0.2.1', 'nohost', 'nochg'), { maxLength: 3 }),
    newline: fc.constantFrom('\n', '\r\n'),
  })
  .map(({ answer, address, more, newline }) => ({
    bytes: utf8([address ? `${answer} ${address}` : answer, ...more].join(newline)),
    expected: { answer, address },
  }));

/** The target. */
export const target: FuzzTarget<Dyndns2Reply> = {
  name: 'dyndns2',
  decoder: 'decodeDyndns2Answer (src/dns/dyndns2.ts)',
  rejectCodes: ['E_DYNDNS_ANSWER'],
  seeds: [
    // What providers answer (dyndns2 protocol) and porthole serve --dns-zone answers ddclient.
    utf8('good 203.0.113.77'),
    utf8('nochg 203.0.113.77\n'),
    utf8('badauth'),
    utf8('good 2001:db8::78\r\nnochg 203.0.113.78\r\n'),
    utf8('911'),
    utf8('!yours'),
    utf8('<html><body>Service Unavailable</body></html>'),
  ],
  valid,
  maxBytes: 4096,
  decode: (bytes) => {
    const reply = decodeDyndns2Answer(Buffer.from(bytes).toString('utf8'));
    return { answer: reply.answer, address: reply.address };
  },
};
