/**
 * DNS names in the lab: porthole updates real BIND 9 and Knot servers by RFC 2136 with a
 * tsig-keygen key (dig shows the change; nothing sent when nothing changed, counted in the
 * server's log); every refusal comes back as its coded error; ddclient, the reference dyndns2
 * client, talks to `porthole serve --dns-zone`, which applies only legitimate changes to BIND.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DNS_ZONE, type LabDnsServer, startBind, startKnot } from '../../lab/dns.js';
import type { Lab } from '../../lab/lab.js';
import { PLAN } from '../../lab/topology.js';
import { sleep } from '../../src/deadline/index.js';
import { hashPassword } from '../../src/dns/index.js';
import { labSkip, porthole, startPorthole, startServe, useLab } from './support.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

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

function nameSet(lab: Lab, server: LabDnsServer, name: string, extra: string[]) {
  const args = ['name', 'set', name, '--rfc2136', server.address, '--tsig-key', server.keyFile, ...extra, '--json'];
  return porthole(lab, 'lan', args, 30_000);
}

/** `porthole name set` with its own state folder and environment, for the refusal tests. */
function nameSetWith(lab: Lab, args: string[], env: Record<string, string> = {}) {
  return lab.exec('lan', process.execPath, ['--import', 'tsx', CLI, 'name', 'set', ...args, '--json'], {
    timeoutMs: 30_000,
    env: { XDG_STATE_HOME: join(lab.state.dir, 'refusals'), ...env },
  });
}

/** A key file like the server's but with another secret (same name) or another name. */
function otherKey(lab: Lab, server: LabDnsServer, change: 'secret' | 'name'): string {
  const text = readFileSync(server.keyFile, 'utf8');
  const file = join(lab.state.dir, `wrong-${change}-${server.software}.key`);
  writeFileSync(
    file,
    change === 'secret'
      ? text.replace(/secret "[^"]+"/, `secret "${randomBytes(32).toString('base64')}"`)
      : text.replace(/key "[^"]+"/, 'key "nobody-knows-me"'),
    { mode: 0o600 },
  );
  return file;
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
      // AAAA is kept apart from A: adding an IPv6 address sends one update, for AAAA only.
      const dual = await nameSet(lab, server, name, ['--ip', '203.0.113.78,2001:db8::78']);
      assert.equal(dual.code, 0, dual.stderr);
      assert.deepEqual(
        (JSON.parse(dual.stdout) as NameJson).records.map((r) => [r.type, r.address, r.changed]),
        [
          ['A', '203.0.113.78', false],
          ['AAAA', '2001:db8::78', true],
        ],
      );
      assert.equal(await dig(lab, server, name, 'AAAA'), '2001:db8::78');
      assert.equal(await dig(lab, server, name), '203.0.113.78');
      assert.equal(server.updatesReceived(), before + 2);
    });
  }

  it('refusals are coded errors with hints and leave the state file whole: BADSIG, BADKEY, BADTIME, NOTAUTH, no server', async () => {
    const { lab } = env;
    const name = `refused.${DNS_ZONE}`;
    const common = [name, '--ip', '203.0.113.99'];
    const stateDir = join(lab.state.dir, 'refusals', 'porthole');
    // One good update first, so there is a state file to keep whole.
    const good = await nameSetWith(lab, [...common, '--rfc2136', bind.address, '--tsig-key', bind.keyFile]);
    assert.equal(good.code, 0, good.stderr);
    const stateBefore = readFileSync(join(stateDir, 'names.json'), 'utf8');
    const cases: { args: string[]; env?: Record<string, string>; code: string }[] = [
      {
        args: ['--rfc2136', bind.address, '--tsig-key', otherKey(lab, bind, 'secret'), '--ip', '203.0.113.98'],
        code: 'E_DNS_BADSIG',
      },
      {
        args: ['--rfc2136', bind.address, '--tsig-key', otherKey(lab, bind, 'name'), '--ip', '203.0.113.98'],
        code: 'E_DNS_BADKEY',
      },
      {
        args: ['--rfc2136', knot.address, '--tsig-key', otherKey(lab, knot, 'secret'), '--ip', '203.0.113.98'],
        code: 'E_DNS_BADSIG',
      },
      {
        args: ['--rfc2136', bind.address, '--tsig-key', bind.keyFile, '--ip', '203.0.113.98'],
        env: { PORTHOLE_TSIG_CLOCK_OFFSET: '1000' },
        code: 'E_DNS_BADTIME',
      },
      {
        args: ['--rfc2136', bind.address, '--tsig-key', bind.keyFile, '--zone', 'example.org', '--ip', '203.0.113.98'],
        code: 'E_DNS_NOTAUTH',
      },
      {
        args: ['--rfc2136', `${bind.address}:5399`, '--tsig-key', bind.keyFile, '--ip', '203.0.113.98'],
        code: 'E_DNS_NO_ANSWER',
      },
    ];
    for (const c of cases) {
      const run = await nameSetWith(lab, [name, ...c.args], c.env);
      assert.equal(run.code, 3, `${c.code}: ${run.stdout}${run.stderr}`);
      const error = (JSON.parse(run.stdout) as { error: { code: string; hint: string } }).error;
      assert.equal(error.code, c.code, run.stdout);
      assert.ok(error.hint.length > 20);
      for (const file of [bind.keyFile, knot.keyFile]) {
        const secret = /secret "([^"]+)"/.exec(readFileSync(file, 'utf8'))?.[1] ?? 'none';
        assert.ok(!(run.stdout + run.stderr).includes(secret), 'a secret was printed');
      }
    }
    assert.equal(await dig(lab, bind, name), '203.0.113.99', 'no refused update changed the zone');
    assert.equal(readFileSync(join(stateDir, 'names.json'), 'utf8'), stateBefore);
    assert.deepEqual(
      readdirSync(stateDir).filter((f) => f.endsWith('.tmp')),
      [],
    );
    assert.ok(existsSync(join(stateDir, 'names.json')));
  });

  it('name set without --ip takes the public address from the NAT diagnosis (router and STUN agree)', async () => {
    const { lab } = env;
    const name = `nat.${DNS_ZONE}`;
    const run = await nameSet(lab, bind, name, ['--stun', PLAN.internetHost]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.equal(await dig(lab, bind, name), lab.addresses.publicIp);
  });

  it('expose --name points the name at the public address, and the doctor then finds the name right', async () => {
    const { lab } = env;
    const name = `expose.${DNS_ZONE}`;
    const run = await porthole(
      lab,
      'lan',
      [
        'expose',
        '7005',
        '--stun',
        PLAN.internetHost,
        '--name',
        name,
        '--rfc2136',
        bind.address,
        '--tsig-key',
        bind.keyFile,
        '--dns-server',
        bind.address,
        '--json',
      ],
      60_000,
    );
    const result = JSON.parse(run.stdout) as {
      name?: { records: { type: string; address: string; changed: boolean }[] };
    };
    assert.deepEqual(
      result.name?.records.map((r) => [r.type, r.address, r.changed]),
      // The lab speaks IPv6: the host's own global address goes into the AAAA record.
      [
        ['A', lab.addresses.publicIp, true],
        ['AAAA', lab.addresses.lan6, true],
      ],
      run.stdout + run.stderr,
    );
    assert.equal(await dig(lab, bind, name), lab.addresses.publicIp);
  });

  it('name keep: one update for the change, then none over 10 intervals (counted at BIND)', async () => {
    const { lab } = env;
    const name = `keep.${DNS_ZONE}`;
    const before = bind.updatesReceived();
    const run = await porthole(
      lab,
      'lan',
      [
        'name',
        'keep',
        name,
        '--rfc2136',
        bind.address,
        '--tsig-key',
        bind.keyFile,
        '--ip',
        lab.addresses.publicIp,
        '--interval',
        '1',
        '--rounds',
        '11',
        '--json',
      ],
      60_000,
    );
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const lines = run.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as NameJson & { rounds?: number });
    const rounds = lines.filter((line) => line.records);
    assert.equal(rounds.length, 11);
    assert.deepEqual(
      rounds.map((r) => r.updates),
      [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    );
    assert.equal(bind.updatesReceived(), before + 1);
    assert.equal(await dig(lab, bind, name), lab.addresses.publicIp);
  });

  it('name keep follows a change of the public address within an interval (the router gets a new WAN address)', async () => {
    const { lab } = env;
    const name = `follow.${DNS_ZONE}`;
    const moved = '203.0.113.3';
    const keeper = startPorthole(lab, 'lan', 'keep-follow', [
      'name',
      'keep',
      name,
      '--rfc2136',
      bind.address,
      '--tsig-key',
      bind.keyFile,
      '--stun',
      PLAN.internetHost,
      '--interval',
      '2',
      '--min-update-interval',
      '0',
      '--rounds',
      '15',
      '--data',
      join(lab.state.dir, 'follow-state'),
      '--json',
    ]);
    const waitFor = async (address: string, seconds: number) => {
      for (let i = 0; i < seconds * 4; i++) {
        if ((await dig(lab, bind, name)) === address) return true;
        await sleep(250);
      }
      return false;
    };
    assert.ok(await waitFor(lab.addresses.publicIp, 20), `never set:\n${lab.log('keep-follow')}`);
    // The ISP hands the router a new address: add it, promote it, drop the old one, restore the route.
    const router = (args: string[]) => lab.exec('router', 'ip', args);
    await lab.exec('router', 'sysctl', ['-qw', 'net.ipv4.conf.wan0.promote_secondaries=1']);
    await router(['addr', 'add', `${moved}/24`, 'dev', 'wan0']);
    await router(['addr', 'del', `${lab.addresses.publicIp}/24`, 'dev', 'wan0']);
    await router(['route', 'replace', 'default', 'via', PLAN.internetHost]);
    try {
      assert.ok(await waitFor(moved, 30), `did not follow:\n${lab.log('keep-follow')}`);
    } finally {
      // Stop the keeper (Ctrl-C) before the router gets its address back, so later counts stay exact.
      process.kill(keeper, 'SIGINT');
      for (let i = 0; i < 40 && !lab.log('keep-follow').includes('"interrupted":true'); i++) await sleep(100);
      // Give the router its address back: the tests after this one expect it.
      await router(['addr', 'add', `${lab.addresses.publicIp}/24`, 'dev', 'wan0']);
      await router(['addr', 'del', `${moved}/24`, 'dev', 'wan0']);
      await router(['route', 'replace', 'default', 'via', PLAN.internetHost]);
    }
    // Exactly one update per change: the first setting (A, and AAAA: the lab speaks IPv6) and the move of
    // the A record, nothing in the rounds between.
    const rounds = lab
      .log('keep-follow')
      .split('\n')
      .filter((line) => line.startsWith('{"at"'))
      .map((line) => JSON.parse(line) as { updates?: number });
    assert.equal(
      rounds.reduce((sum, round) => sum + (round.updates ?? 0), 0),
      3,
      lab.log('keep-follow'),
    );
  });

  describe('ddclient against porthole serve --dns-zone', () => {
    const serveUrl = `${PLAN.internetHost}:8080`;
    before(async () => {
      const { lab } = env;
      const users = join(lab.state.dir, 'dns-users.json');
      const entry = async (user: string, names: string[], trusted = false) => ({
        user,
        password: await hashPassword(`${user}-password`),
        names,
        trusted,
      });
      writeFileSync(
        users,
        JSON.stringify({
          users: [await entry('alice', [`alice.${DNS_ZONE}`]), await entry('bob', [`bob.${DNS_ZONE}`])],
        }),
        { mode: 0o600 },
      );
      await startServe(lab, 'name-service', [
        '--listen',
        serveUrl,
        '--allow-targets',
        PLAN.internetSubnet,
        '--data',
        join(lab.state.dir, 'serve-data'),
        '--dns-zone',
        DNS_ZONE,
        '--dns-server',
        bind.address,
        '--tsig-key',
        bind.keyFile,
        '--dns-users',
        users,
        '--log-level',
        'silent',
      ]);
    });

    /** Runs ddclient once (no daemon, forced) from the LAN host and returns what it printed. */
    async function ddclient(user: string, password: string, host: string, ip: string): Promise<string> {
      const { lab } = env;
      const dir = join(lab.state.dir, `ddclient-${randomBytes(3).toString('hex')}`);
      mkdirSync(dir);
      const conf = join(dir, 'ddclient.conf');
      writeFileSync(
        conf,
        [
          'daemon=0',
          'syslog=no',
          'ssl=no',
          `use=ip, ip=${ip}`,
          'protocol=dyndns2',
          `server=${serveUrl}`,
          `login=${user}`,
          `password='${password}'`,
          host,
          '',
        ].join('\n'),
        { mode: 0o600 },
      );
      const run = await lab.exec(
        'lan',
        'ddclient',
        ['-daemon=0', '-foreground', '-force', '-verbose', '-file', conf, '-cache', join(dir, 'cache')],
        { timeoutMs: 30_000 },
      );
      return `${run.stdout}${run.stderr}`;
    }

    it('good, then nochg, then badauth for a wrong password; BIND holds the change', async () => {
      const { lab } = env;
      const before = bind.updatesReceived();
      const alice = `alice.${DNS_ZONE}`;
      const first = await ddclient('alice', 'alice-password', alice, lab.addresses.publicIp);
      assert.match(first, /SUCCESS:.*good/, first);
      assert.equal(await dig(lab, bind, alice), lab.addresses.publicIp);
      const second = await ddclient('alice', 'alice-password', alice, lab.addresses.publicIp);
      assert.match(second, /nochg/, second);
      const third = await ddclient('alice', 'wrong-password', alice, lab.addresses.publicIp);
      assert.match(third, /FAILED:.*badauth/, third);
      assert.equal(bind.updatesReceived(), before + 1, 'only the first request changed the zone');
    });

    it('a name the user does not own (nohost, !yours) or another address (!yours) changes nothing', async () => {
      const { lab } = env;
      const before = bind.updatesReceived();
      const other = await ddclient('alice', 'alice-password', `bob.${DNS_ZONE}`, lab.addresses.publicIp);
      assert.match(other, /FAILED:.*!yours/, other);
      const missing = await ddclient('alice', 'alice-password', `nobody.${DNS_ZONE}`, lab.addresses.publicIp);
      assert.match(missing, /FAILED:.*nohost/, missing);
      const elsewhere = await ddclient('bob', 'bob-password', `bob.${DNS_ZONE}`, '198.51.100.50');
      assert.match(elsewhere, /FAILED:.*!yours/, elsewhere);
      assert.equal(await dig(lab, bind, `bob.${DNS_ZONE}`), '');
      assert.equal(await dig(lab, bind, `nobody.${DNS_ZONE}`), '');
      assert.equal(bind.updatesReceived(), before);
    });

    it('porthole name set --dyndns2 against the same service: good, then nothing sent; badauth stops it until the settings change', async () => {
      const { lab } = env;
      const dir = join(lab.state.dir, 'dyndns2-client');
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'good'), 'bob-password\n', { mode: 0o600 });
      writeFileSync(join(dir, 'bad'), 'not-bobs\n', { mode: 0o600 });
      const set = (file: string) =>
        porthole(lab, 'lan', [
          'name',
          'set',
          `bob.${DNS_ZONE}`,
          '--dyndns2',
          `http://${serveUrl}/nic/update`,
          '--user',
          'bob',
          '--password-file',
          join(dir, file),
          '--ip',
          lab.addresses.publicIp,
          '--server',
          bind.address,
          '--data',
          dir,
          '--json',
        ]);
      const first = await set('good');
      assert.equal(first.code, 0, first.stdout + first.stderr);
      assert.equal((JSON.parse(first.stdout) as NameJson).records[0]?.changed, true);
      assert.equal(await dig(lab, bind, `bob.${DNS_ZONE}`), lab.addresses.publicIp);
      const again = await set('good');
      assert.equal((JSON.parse(again.stdout) as NameJson).updates, 0);
      // Make the name stale at the server so the next pass must update, then refuse the password.
      await lab.exec('internet', 'nsupdate', ['-k', bind.keyFile], {
        input: `server ${bind.address}\nzone ${DNS_ZONE}\nupdate delete bob.${DNS_ZONE} A\nsend\n`,
      });
      const refused = await set('bad');
      assert.equal((JSON.parse(refused.stdout) as { error: { code: string } }).error.code, 'E_DYNDNS_BADAUTH');
      const held = await set('bad');
      assert.equal((JSON.parse(held.stdout) as { error: { code: string } }).error.code, 'E_DYNDNS_STOPPED');
      const state = readFileSync(join(dir, 'names.json'), 'utf8');
      assert.ok(!state.includes('bob-password') && !state.includes('not-bobs'), 'no password in the state file');
      assert.equal((statSync(join(dir, 'names.json')).mode & 0o777).toString(8), '600');
      // New settings (the right password) lift the stop.
      const fixed = await set('good');
      assert.equal(fixed.code, 0, fixed.stdout);
    });
  });
});
