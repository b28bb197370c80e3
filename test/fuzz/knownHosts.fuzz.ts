/** Fuzz target: porthole's known_hosts file (knownKeysFor, src/relay/knownHosts.ts), read before each relay connection. */
import fc from 'fast-check';
import { encodeKnownHostsLine, knownKeysFor } from '../../src/relay/knownHosts.js';
import { type FuzzCase, type FuzzTarget, utf8 } from './runner.js';

const HOST = 'relay.example.net';
const PORT = 2222;

/** The keys recorded for the host, by type. */
type Known = Record<string, string[]> | undefined;

const blob = fc
  .record({
    type: fc.constantFrom('ssh-ed25519', 'ecdsa-sha2-nistp256', 'ssh-rsa'),
    body: fc.uint8Array({ maxLength: 64 }),
  })
  .map(({ type, body }) => {
    const head = Buffer.alloc(4);
    head.writeUInt32BE(type.length);
    return new Uint8Array([...head, ...Buffer.from(type), ...body]);
  });

const valid: fc.Arbitrary<FuzzCase<Known>> = fc
  .record({ ours: fc.array(blob, { maxLength: 3 }), others: fc.array(blob, { maxLength: 3 }) })
  .map(({ ours, others }) => {
    const lines = [
      ...ours.map((b) => encodeKnownHostsLine(HOST, PORT, b)),
      ...others.map((b) => encodeKnownHostsLine('other.example.net', PORT, b)),
    ];
    const expected: Record<string, string[]> = {};
    for (const b of ours) {
      const type = Buffer.from(b.subarray(4, 4 + (b[3] ?? 0))).toString('latin1');
      expected[type] = [...(expected[type] ?? []), Buffer.from(b).toString('base64')];
    }
    return { bytes: utf8(lines.join('\n')), expected: ours.length === 0 ? undefined : expected };
  });

/** The target. */
export const target: FuzzTarget<Known> = {
  name: 'knownHosts',
  decoder: 'knownKeysFor (src/relay/knownHosts.ts)',
  rejectCodes: [],
  seeds: [
    // OpenSSH 9.2's forms: plain, comma-separated names, hashed (ssh-keygen -H), markers and comments.
    utf8(
      `# porthole relay host keys\n[${HOST}]:${PORT} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAon9nuW9p1NvWPvy0AvhVOaiHowbrIM1LyFC4oGd9O8\n` +
        `[${HOST}]:${PORT},[203.0.113.9]:${PORT} ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTY=\n` +
        '|1|F1E1KeoE/eEWhi10WpGv4OdiO6Y=|3988QV0VE8wmZL7suNrYQLITLCg= ssh-rsa AAAAB3NzaC1yc2E=\n' +
        `@revoked [${HOST}]:${PORT} ssh-rsa AAAA\n`,
    ),
  ],
  valid,
  maxBytes: 4096,
  // undefined: nothing recorded for the host (the first connection records its key).
  decode: (bytes) => {
    const keys = knownKeysFor(Buffer.from(bytes).toString('utf8'), HOST, PORT);
    return keys.size === 0 ? undefined : Object.fromEntries(keys);
  },
};
