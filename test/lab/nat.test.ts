/**
 * NAT diagnosis in the lab against the real coturn, compared with turnutils_natdiscovery run
 * from the same namespace; and porthole's own STUN responder giving the same answers.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { Lab } from '../../lab/lab.js';
import { labSkip, porthole, startServe, useLab } from './support.js';

interface NatJson {
  publicIp: string;
  mapping: string;
  filtering: string;
  cgnat: boolean;
  doubleNat: boolean;
  evidence: string[];
  sightings: { source: string; address: string }[];
}

/** turnutils_natdiscovery's verdicts, in RFC 5780's words. */
async function peerVerdicts(lab: Lab, port: number): Promise<{ mapping: string; filtering: string }> {
  const result = await lab.exec(
    'lan',
    'turnutils_natdiscovery',
    ['-m', '-f', '-p', String(port), lab.addresses.internet],
    { timeoutMs: 30_000 },
  );
  const words = (text: string | undefined) => (text ?? '').toLowerCase().replaceAll(' ', '-');
  return {
    mapping: words(/NAT with (.*) Mapping!/.exec(result.stdout + result.stderr)?.[1]),
    filtering: words(/NAT with (.*) Filtering!/.exec(result.stdout + result.stderr)?.[1]),
  };
}

async function nat(lab: Lab, stun: string): Promise<{ code: number | null; json: NatJson }> {
  const result = await porthole(lab, 'lan', ['nat', '--stun', stun, '--json']);
  return { code: result.code, json: JSON.parse(result.stdout) as NatJson };
}

describe('lab: porthole nat in the home topology', { skip: labSkip() }, () => {
  const env = useLab({ topology: 'home' });
  before(async () => {
    // porthole's own STUN responder beside coturn, on two addresses (RFC 5780), ports 3480/3481.
    await startServe(env.lab, 'porthole-serve', [
      '--listen',
      '203.0.113.254:8080',
      '--data',
      `${env.lab.state.dir}/serve-data`,
      '--log-level',
      'silent',
      '--stun-port',
      '3480',
      '--stun-address',
      '203.0.113.254,203.0.113.253',
    ]);
  });

  it('public address = the router WAN, no CGNAT, and the same mapping and filtering as turnutils_natdiscovery', async () => {
    const { code, json } = await nat(env.lab, '203.0.113.254');
    assert.equal(code, 0);
    assert.equal(json.publicIp, env.lab.addresses.routerWan);
    assert.equal(json.cgnat, false);
    assert.equal(json.doubleNat, false);
    const peer = await peerVerdicts(env.lab, 3478);
    assert.deepEqual({ mapping: json.mapping, filtering: json.filtering }, peer);
  });

  it("against porthole's own STUN responder: the same answers as against coturn, and turnutils agrees too", async () => {
    const ours = await nat(env.lab, '203.0.113.254:3480');
    const coturn = await nat(env.lab, '203.0.113.254');
    assert.deepEqual(
      [ours.json.publicIp, ours.json.mapping, ours.json.filtering, ours.json.cgnat],
      [coturn.json.publicIp, coturn.json.mapping, coturn.json.filtering, coturn.json.cgnat],
    );
    assert.deepEqual(await peerVerdicts(env.lab, 3480), { mapping: ours.json.mapping, filtering: ours.json.filtering });
  });
});

describe('lab: porthole nat in the cgnat topology', { skip: labSkip() }, () => {
  const env = useLab({ topology: 'cgnat' });

  it('cgnat: true with the evidence, exit 1, and the same mapping and filtering as turnutils_natdiscovery', async () => {
    const { code, json } = await nat(env.lab, '203.0.113.254');
    assert.equal(code, 1);
    assert.equal(json.cgnat, true);
    assert.equal(json.publicIp, env.lab.addresses.publicIp);
    assert.ok(
      json.evidence.some((line) => /hop 2 .*100\.64\.0\.1.*100\.64\.0\.0\/10/.test(line)),
      json.evidence.join('\n'),
    );
    const peer = await peerVerdicts(env.lab, 3478);
    assert.deepEqual({ mapping: json.mapping, filtering: json.filtering }, peer);
  });
});
