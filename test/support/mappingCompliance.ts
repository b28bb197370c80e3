/**
 * The one compliance suite every mapping protocol passes (STYLE.md: one suite per interface).
 * The lab runs it against the real miniupnpd (test/lab/fixtures/mappingCompliance.ts) and
 * `npm test` against the loopback fake router (test/unit/fakeRouter.test.ts).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { Mapping, MappingClient, MappingMethod } from '../../src/gateway/index.js';

/** What the suite needs, known only once the suite's `before` hooks have run. */
export interface ComplianceSubject {
  readonly client: MappingClient;
  /** This host's address toward the gateway, as mappings must name it. */
  readonly internalAddress: string;
  /** The router's external address. */
  readonly externalIp: string | undefined;
}

/** Declares the suite for one method; `subject` is called inside each test. */
export function describeMappingCompliance(method: MappingMethod, subject: () => ComplianceSubject): void {
  describe(`mapping compliance: ${method}`, () => {
    const made: Mapping[] = [];
    after(async () => {
      for (const mapping of made)
        await subject()
          .client.unmap(mapping)
          .catch(() => undefined);
    });

    it('reports the external address', async () => {
      const { client, externalIp } = subject();
      assert.equal(await client.externalIp(), externalIp);
    });

    it('maps a specific port, lists it, renews it, removes it', async () => {
      const { client, internalAddress, externalIp } = subject();
      const mapping = await client.map({
        protocol: 'tcp',
        internalPort: 31001,
        external: 31001,
        lifetimeSeconds: 60,
        description: `compliance ${method}`,
      });
      made.push(mapping);
      assert.deepEqual(
        [mapping.method, mapping.protocol, mapping.internalPort, mapping.externalPort],
        [method, 'tcp', 31001, 31001],
      );
      assert.equal(mapping.internalAddress, internalAddress);
      assert.equal(mapping.externalIp, externalIp);
      assert.ok(mapping.lifetime > 0);
      assert.ok((await client.list()).some((entry) => entry.externalPort === 31001 && entry.internalPort === 31001));
      const renewed = await client.renew(mapping);
      assert.equal(renewed.externalPort, 31001);
      assert.equal(renewed.description, `compliance ${method}`, 'a renewal keeps the description');
      if (method === 'upnp') {
        // The router's own list still shows ours: a renewal must not overwrite it.
        const listed = (await client.list()).find((entry) => entry.externalPort === 31001 && entry.protocol === 'tcp');
        assert.equal(listed?.description, 'compliance upnp');
      }
      await client.unmap(mapping);
      assert.ok(!(await client.list()).some((entry) => entry.externalPort === 31001 && entry.protocol === 'tcp'));
    });

    it('maps UDP too', async () => {
      const { client } = subject();
      const mapping = await client.map({
        protocol: 'udp',
        internalPort: 31002,
        lifetimeSeconds: 60,
        description: `compliance ${method}`,
      });
      made.push(mapping);
      assert.deepEqual([mapping.protocol, mapping.externalPort], ['udp', 31002]);
      await client.unmap(mapping);
    });

    it('takes the first free port of a range', async () => {
      const { client } = subject();
      const mapping = await client.map({
        protocol: 'tcp',
        internalPort: 31010,
        external: { start: 31010, end: 31015 },
        lifetimeSeconds: 60,
        description: `compliance ${method}`,
      });
      made.push(mapping);
      assert.ok(mapping.externalPort >= 31010 && mapping.externalPort <= 31015);
      await client.unmap(mapping);
    });
  });
}
