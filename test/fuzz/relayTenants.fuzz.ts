/** Fuzz target: the relay's tenants file (parseTenants, src/relay/tenants.ts: YAML, zod, ssh2's key parser), as `relay serve --tenants` reads it from disk. */
import fc from 'fast-check';
import { parseTenants } from '../../src/relay/tenants.js';
import { type FuzzCase, type FuzzTarget, utf8 } from './runner.js';

/** Public keys as OpenSSH 9.2's ssh-keygen wrote them (throwaway keys, authorized_keys form). */
const KEYS = [
  'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAon9nuW9p1NvWPvy0AvhVOaiHowbrIM1LyFC4oGd9O8 root@vm',
  'ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBHxmhkPGGf4CUT7PoU9mTm4K8vdtvXW6LT9Oac5vHsTfvVK3K4jZmUWbvLZ5iZrq5ancMzcvnBfN88WQ+mfdQE0= root@vm',
  'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDaNFoSxhWeToByooyPD40F/84em6+K+9mygXsyUfnjXCbivmEMIX2+6wBrvSWMz/6M/QryoxGywk61p4N5ZSd0v3/1E+mkeREIZGnBwDRiZb8jVLV+ysEyjnqkgA4aOLzU6Y9aR87nVFFE5WajEjfFPwnYBYRW8MxsfW7EM8cPm+GvWpQJ9zW0FtSWRwfL0T4zani2VqB9mJ+6TONCVhqCC0wLzCuo5bwjyY1DXAodPkZL336OjDF90A5oA60Wf0RtiAYdefr0LTAddfaq4GRkBbk+Ug1YXppuKf3dcTIMrXG1alQsOrYoUa/qm+o4YmeE1Ae01aXg19tqaAfqlRaz root@vm',
];

/** What the relay keeps of a tenant (keys by type, the token's presence). */
interface Kept {
  readonly name: string;
  readonly keys: number;
  readonly token: boolean;
  readonly ports: readonly { start: number; end: number }[];
  readonly udp: boolean;
}

const valid: fc.Arbitrary<FuzzCase<Kept[]>> = fc
  .uniqueArray(
    fc.record({
      name: fc.stringMatching(/^[a-z_][a-z0-9_.-]{0,15}$/),
      key: fc.option(fc.constantFrom(...KEYS), { nil: undefined }),
      port: fc.integer({ min: 1, max: 65535 }),
      udp: fc.boolean(),
    }),
    { minLength: 1, maxLength: 4, selector: (t) => t.name },
  )
  .map((tenants) => ({
    bytes: utf8(
      `tenants:\n${tenants
        .map(
          (t) =>
            `  - name: "${t.name}"\n${t.key ? `    key: "${t.key}"` : '    token: 6f1c0a3e9b7d4c2a8e5f'}\n    ports: [${t.port}]\n    udp: ${t.udp}\n`,
        )
        .join('')}`,
    ),
    expected: tenants.map((t) => ({
      name: t.name,
      keys: t.key ? 1 : 0,
      token: !t.key,
      ports: [{ start: t.port, end: t.port }],
      udp: t.udp,
    })),
  }));

/** The target. */
export const target: FuzzTarget<Kept[]> = {
  name: 'relayTenants',
  decoder: 'parseTenants (src/relay/tenants.ts)',
  rejectCodes: ['E_RELAY_TENANTS'],
  seeds: [
    // docs/relay.md's example, with real keys.
    utf8(
      `tenants:\n  - name: camera-42\n    keys: ["${KEYS[0]}", "${KEYS[1]}"]\n    ports: [20007]\n    pool: 20100-20199\n    udp: true\n    maxTunnels: 4\n    maxConnections: 200\n    maxBytesPerSecond: 2000000\n  - name: shop-till\n    token: 6f1c0a3e9b7d4c2a8e5f\n    pool: 20200-20299\n`,
    ),
    utf8(
      `tenants:\n  - name: rsa\n    key: 'no-pty,from="10.0.0.0/8" ${KEYS[2]}'\n    ports: ["22000-22010", 23000]\n`,
    ),
  ],
  valid,
  maxBytes: 4096,
  // YAML and ssh2's key parser: about as slow as the manifest target.
  shortRuns: 3000,
  decode: (bytes) =>
    parseTenants(Buffer.from(bytes).toString('utf8'), 'fuzz.yaml').map((t) => ({
      name: t.name,
      keys: t.keys.length,
      token: t.tokenHash !== undefined,
      ports: t.ports,
      udp: t.udp,
    })),
};
