/** Fuzz target: the name service's users file (parseUsers, src/dns/users.ts), as `serve --dns-users` reads it from disk. */
import fc from 'fast-check';
import { parseUsers } from '../../src/dns/users.js';
import { type FuzzCase, type FuzzTarget, utf8 } from './runner.js';

const ZONE = 'dyn.example.net';
const HASH = 'scrypt$16384$8$1$c2FsdHNhbHRzYWx0c2FsdA==$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g=';

/** What the service keeps of a user. */
interface Kept {
  readonly user: string;
  readonly names: readonly string[];
  readonly trusted: boolean;
}

const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/);
const valid: fc.Arbitrary<FuzzCase<Kept[]>> = fc
  .uniqueArray(
    fc.record({
      user: fc.stringMatching(/^[A-Za-z0-9._@-]{1,20}$/),
      labels: fc.uniqueArray(label, { minLength: 0, maxLength: 3 }),
      trusted: fc.boolean(),
    }),
    { maxLength: 4, selector: (u) => u.user },
  )
  .map((users) => {
    // A name belongs to one user: prefix each with its user's index.
    const kept = users.map((u, i) => ({
      user: u.user,
      names: u.labels.map((l) => `${l}.u${i}.${ZONE}`),
      trusted: u.trusted,
    }));
    return {
      bytes: utf8(JSON.stringify({ users: kept.map((u) => ({ ...u, password: HASH })) })),
      expected: kept,
    };
  });

/** The target. */
export const target: FuzzTarget<Kept[]> = {
  name: 'dnsUsers',
  decoder: 'parseUsers (src/dns/users.ts)',
  rejectCodes: ['E_DNS_USERS_FILE'],
  seeds: [
    // docs/dns.md's example.
    utf8(
      `{"users": [\n  {"user": "alice", "password": "${HASH}", "names": ["alice.${ZONE}"]},\n  {"user": "office", "password": "${HASH}", "names": ["gw.${ZONE}"], "trusted": true}\n]}\n`,
    ),
    utf8(`{"users": [{"user": "bob", "password": "${HASH}", "names": ["Bob.${ZONE}.", "x.other.net"]}]}`),
  ],
  valid,
  maxBytes: 4096,
  decode: (bytes) =>
    parseUsers(Buffer.from(bytes).toString('utf8'), ZONE, 'fuzz.json').map((u) => ({
      user: u.user,
      names: u.names,
      trusted: u.trusted,
    })),
};
