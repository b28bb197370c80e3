import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pipedFile } from '../../src/firewall/index.js';
import { checkReachable, mapPort, planFirewall } from '../../src/index.js';
import {
  deadOwnerRecords,
  forgetOwned,
  ownedRecordDir,
  ownerAlive,
  processStartTime,
  readOwnedRecords,
  recordOwned,
  trackMappingRequest,
} from '../../src/library/leftovers.js';

const state = mkdtempSync(join(tmpdir(), 'porthole-library-'));
const env = { XDG_STATE_HOME: state };
after(() => rmSync(state, { recursive: true, force: true }));

describe('library: bad input is refused before anything is sent', () => {
  it('mapPort refuses a port or protocol that cannot be, with E_PORT_SPEC', async () => {
    await assert.rejects(mapPort({ port: 0 }), { code: 'E_PORT_SPEC' });
    await assert.rejects(mapPort({ port: 70000 }), { code: 'E_PORT_SPEC' });
    await assert.rejects(mapPort({ port: 7001, protocol: 'sctp' as 'tcp' }), { code: 'E_PORT_SPEC' });
    await assert.rejects(mapPort({ port: 7001, externalPort: { start: 1, end: 99999 } }), { code: 'E_PORT_SPEC' });
  });

  it('an aborted signal rejects at once with its reason', async () => {
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(mapPort({ port: 7001, signal: controller.signal }), { code: 'E_ABORTED' });
  });
});

describe('library: planFirewall and checkReachable', () => {
  it('planFirewall renders a target’s files from ports, and refuses an unknown target', async () => {
    const { files, plan } = await planFirewall({ ports: '7001,7002/udp', target: 'iptables' });
    assert.deepEqual(
      files.map((f) => f.name),
      ['porthole-ports.rules.v4', 'porthole-ports.rules.v6'],
    );
    assert.match(files[0]?.content ?? '', /--dport 7001/);
    assert.equal(plan.rules.length, 2);
    await assert.rejects(planFirewall({ ports: '7001', target: 'zonealarm' as 'pf' }), { code: 'E_USAGE' });
  });

  it('checkReachable asks the checker named by the environment and sums up its answer', async () => {
    const asked: string[] = [];
    const server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => {
        body += chunk;
      });
      request.on('end', () => {
        asked.push(`${request.url} ${body}`);
        response.setHeader('content-type', 'application/json');
        response.end(
          JSON.stringify({
            target: '198.51.100.7',
            proof: false,
            ms: 3,
            results: [
              { port: 7001, protocol: 'tcp', state: 'open', verified: null, reason: 'syn-ack', ms: 1 },
              { port: 7002, protocol: 'tcp', state: 'filtered', verified: null, reason: 'timeout', ms: 1 },
              // A checker that claims proof it was never asked for (no key was sent): never believed.
              { port: 7003, protocol: 'tcp', state: 'open', verified: true, reason: 'syn-ack', ms: 1 },
            ],
          }),
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    try {
      const result = await checkReachable({
        ports: '7001-7002',
        env: { PORTHOLE_CHECKER: `http://127.0.0.1:${port}`, XDG_CONFIG_HOME: state },
      });
      assert.equal(result.reachable, false, 'one port is filtered');
      const claimed = result.results.find((r) => r.port === 7003);
      assert.deepEqual([claimed?.verified, claimed?.reach], [null, 'open-unproven']);
      assert.equal(result.target, '198.51.100.7');
      assert.deepEqual(asked, ['/v1/check {"ports":"7001-7002/tcp"}']);
      await assert.rejects(checkReachable({ ports: 7001, checker: 'notaurl', env: {} }), { code: 'E_CHECKER_URL' });
    } finally {
      server.close();
    }
  });
});

describe('library: records of what a process owns', () => {
  const mapping = {
    method: 'natpmp' as const,
    gateway: '192.168.77.1',
    protocol: 'tcp' as const,
    internalAddress: '192.168.77.10',
    internalPort: 7001,
    externalPort: 7001,
    externalIp: '203.0.113.1',
    lifetime: 60,
  };

  it('a live process’s record is not a leftover; forgetting removes it', () => {
    const id = recordOwned({ kind: 'mapping', mapping }, env);
    const [record] = readOwnedRecords(env);
    assert.equal(record?.pid, process.pid);
    assert.equal(record?.processStart, processStartTime(process.pid));
    assert.equal(ownerAlive(record as NonNullable<typeof record>), true);
    assert.deepEqual(deadOwnerRecords(env), []);
    forgetOwned(id, env);
    assert.deepEqual(readOwnedRecords(env), []);
  });

  it('a gone pid, or a reused pid with another start time, makes a leftover', () => {
    const dir = ownedRecordDir(env);
    recordOwned({ kind: 'mapping', mapping }, env);
    const base = { kind: 'mapping', mapping, createdAt: new Date().toISOString() };
    writeFileSync(join(dir, 'a.json'), JSON.stringify({ ...base, id: 'a', pid: 4194301, processStart: null }));
    writeFileSync(join(dir, 'b.json'), JSON.stringify({ ...base, id: 'b', pid: process.pid, processStart: '1' }));
    assert.deepEqual(
      deadOwnerRecords(env)
        .map((r) => r.id)
        .sort(),
      ['a', 'b'],
    );
  });

  it('a mapping request is recorded before it is sent, becomes the mapping, and follows a re-made one', () => {
    const own = { XDG_STATE_HOME: mkdtempSync(join(tmpdir(), 'porthole-request-')) };
    try {
      const asked = trackMappingRequest({ gateway: '192.168.77.1', protocol: 'tcp', internalPort: 7001 }, own);
      assert.deepEqual(
        readOwnedRecords(own).map((r) => (r.kind === 'mapping-request' ? r.request.internalPort : r.kind)),
        [7001],
        'a kill before the answer leaves the request',
      );
      const owned = asked.made({ ...mapping, method: 'pcp', nonce: 'aa'.repeat(12) });
      const kept = () => readOwnedRecords(own).map((r) => (r.kind === 'mapping' ? r.mapping.nonce : r.kind));
      assert.deepEqual(kept(), ['aa'.repeat(12)], 'the one record is now the mapping');
      // A PCP mapping re-made after a router restart carries a new nonce: without it, no delete.
      owned.follow({ kind: 'remade', mapping: { ...mapping, method: 'pcp', nonce: 'bb'.repeat(12) } });
      assert.deepEqual(kept(), ['bb'.repeat(12)]);
      owned.done(false);
      assert.equal(readOwnedRecords(own).length, 1, 'a failed removal keeps the record for cleanup');
      owned.done(true);
      assert.deepEqual(readOwnedRecords(own), []);
      trackMappingRequest({ gateway: '192.168.77.1', protocol: 'udp', internalPort: 5353 }, own).abandon();
      assert.deepEqual(readOwnedRecords(own), [], 'a refused request is forgotten');
    } finally {
      rmSync(own.XDG_STATE_HOME, { recursive: true, force: true });
    }
  });
});

describe('the frame notices leftovers', () => {
  it('a command that works on the host or router names what dead processes left, and the fix, on stderr', async () => {
    const { PassThrough } = await import('node:stream');
    const { runCli } = await import('../../src/cli/program.js');
    const stdout = Object.assign(new PassThrough(), { isTTY: false });
    const stderr = new PassThrough();
    let err = '';
    let out = '';
    stderr.on('data', (chunk) => {
      err += chunk;
    });
    stdout.on('data', (chunk) => {
      out += chunk;
    });
    // Records from the test above: pid 4194301 is gone.
    const status = await runCli(['firewall', '7001', '--target', 'nftables', '--json'], { stdout, stderr, env });
    assert.equal(status, 0);
    assert.ok(JSON.parse(out), 'stdout is still one JSON document');
    assert.match(
      err,
      /left behind by porthole processes that no longer run: mapping 7001\/tcp .*pid 4194301.*porthole cleanup/,
    );
  });
});

describe('firewall output for a pipe', () => {
  const files = (names: string[]) => names.map((name) => ({ name, content: name }));
  it('picks the file each tool reads from stdin, and none for firewalld', () => {
    const iptables = files(['x.rules.v4', 'x.rules.v6']);
    assert.equal(pipedFile('iptables', iptables)?.piped.name, 'x.rules.v4');
    assert.equal(pipedFile('iptables', iptables, 6)?.piped.name, 'x.rules.v6');
    assert.deepEqual(
      pipedFile('iptables', iptables, 6)?.others.map((f) => f.name),
      ['x.rules.v4'],
    );
    assert.equal(pipedFile('ufw', files(['x.ufw.sh', 'x']))?.piped.name, 'x.ufw.sh');
    assert.equal(pipedFile('nftables', files(['x.nft']))?.piped.name, 'x.nft');
    assert.equal(pipedFile('firewalld', files(['x.xml', 'x.firewalld.sh'])), undefined);
  });
});
