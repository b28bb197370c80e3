/** One compliance suite every firewall backend passes, plus golden files for all of them. */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  backends,
  FIREWALL_TARGETS,
  type NameResolver,
  planRules,
  type RulePlan,
  resolveManifestNames,
} from '../../src/firewall/index.js';
import { loadManifest, manifestFromPorts } from '../../src/manifest/index.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const goldenDir = `${root}test/golden/`;

/** A resolver with fixed answers (documentation addresses), so no test ever asks real DNS. */
const labResolver: NameResolver = async (name) => {
  const answers: Record<string, string[]> = {
    'svr1.example.net': ['198.51.100.1', '2001:db8::1'],
    'svr2.example.net': ['198.51.100.2'],
    'svr3.example.net': ['198.51.100.3'],
  };
  const found = answers[name];
  if (!found) throw Object.assign(new Error(`${name} not found`), { code: 'ENOTFOUND' });
  return found;
};

async function examplePlan(name: string): Promise<RulePlan> {
  const manifest = await loadManifest(`examples/${name}.yaml`);
  return planRules(manifest, await resolveManifestNames(manifest, labResolver));
}

const EXAMPLES = ['remote-access-server', 'web-server', 'camera-system', 'appliance', 'media-server'];

describe('rule plan', () => {
  it('makes one rule per entry, transport and direction; multicast both ways', async () => {
    const plan = await examplePlan('media-server');
    const summary = plan.rules.map((rule) => `${rule.entry}:${rule.direction}:${rule.protocol}`);
    assert.deepEqual(summary, [
      'client-to-server:in:tcp',
      'server-to-server:in:tcp',
      'mdns:in:udp',
      'mdns:out:udp',
      'ws-discovery:in:udp',
      'ws-discovery:out:udp',
      'camera-control:out:tcp',
      'camera-media:out:tcp',
      'camera-media:out:udp',
      'email:out:tcp',
      'ldap:out:tcp',
    ]);
  });

  it('resolves DNS peers when generating, says so, and never widens an unresolved name to any', async () => {
    const plan = await examplePlan('appliance');
    const pool = plan.rules.find((rule) => rule.entry === 'server-pool');
    assert.deepEqual(
      pool?.remotes.map((remote) => remote.cidr),
      ['198.51.100.1', '198.51.100.2', '198.51.100.3', '2001:db8::1'],
    );
    assert.ok(plan.notes.some((note) => /svr1\.example\.net resolved to 198\.51\.100\.1, 2001:db8::1/.test(note)));
    assert.ok(plan.notes.some((note) => /svr4\.example\.net did not resolve \(ENOTFOUND\)/.test(note)));

    const manifest = await loadManifest('examples/appliance.yaml');
    const nothing = planRules(manifest, await resolveManifestNames(manifest, async () => [])); // every name fails
    assert.equal(
      nothing.rules.some((rule) => rule.entry === 'server-pool'),
      false,
    );
    assert.ok(nothing.notes.some((note) => /no rule is made \(never widened to any address\)/.test(note)));
  });

  it('builds inbound rules from a port spec', () => {
    const plan = planRules(manifestFromPorts('7001,5353/udp'));
    assert.deepEqual(
      plan.rules.map((rule) => [rule.direction, rule.protocol, rule.ports]),
      [
        ['in', 'tcp', [{ start: 7001, end: 7001 }]],
        ['in', 'udp', [{ start: 5353, end: 5353 }]],
      ],
    );
  });
});

for (const target of FIREWALL_TARGETS) {
  describe(`firewall backend compliance: ${target}`, () => {
    const backend = backends[target];

    for (const example of EXAMPLES) {
      it(`${example}: output is identical on every run (idempotent) and names every rule's entry`, async () => {
        const plan = await examplePlan(example);
        const first = backend.render(plan);
        const second = backend.render(await examplePlan(example));
        assert.deepEqual(first, second);
        const text = first.map((file) => file.content).join('\n');
        for (const rule of plan.rules)
          assert.ok(text.includes(rule.entry), `${rule.entry} is named in the ${target} output`);
      });
    }

    it('writes every port and range of the plan', async () => {
      const plan = await examplePlan('camera-system');
      const text = backend
        .render(plan)
        .map((file) => file.content)
        .join('\n');
      for (const rule of plan.rules) {
        for (const span of rule.ports) {
          const written = [`${span.start}-${span.end}`, `${span.start}:${span.end}`, `${span.start}`];
          assert.ok(
            written.some((form) => text.includes(form)),
            `${span.start}-${span.end}`,
          );
        }
      }
    });

    it('writes no address for a name that did not resolve', async () => {
      const text = backend
        .render(await examplePlan('appliance'))
        .map((file) => file.content)
        .join('\n');
      assert.ok(text.includes('198.51.100.1'));
      assert.ok(!/198\.51\.100\.4\b/.test(text));
    });

    it('matches its golden files (UPDATE_GOLDEN=1 rewrites them)', async () => {
      for (const example of ['media-server', 'appliance', 'camera-system']) {
        for (const file of backend.render(await examplePlan(example))) {
          const path = `${goldenDir}${example}/${file.name}`;
          if (process.env.UPDATE_GOLDEN === '1' || !existsSync(path)) {
            mkdirSync(`${goldenDir}${example}`, { recursive: true });
            writeFileSync(path, file.content);
          }
          assert.equal(file.content, readFileSync(path, 'utf8'), path);
        }
      }
    });
  });
}
