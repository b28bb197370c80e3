/**
 * The short fuzz run of `npm test`: every target in test/fuzz at 10⁴ inputs (the manifest target,
 * whose YAML parser is 20 times slower than the rest, at its `shortRuns`; FUZZ_RUNS overrides,
 * FUZZ_SEED replays), and every crash the fuzzer ever found (test/fixtures/fuzz/<target>--<what>.bin)
 * replayed as a regression. The long run with figures is `npm run fuzz`.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { DnsSdRecords, resolveServices } from '../../src/discovery/dnssd.js';
import { decodeMdnsMessage } from '../../src/discovery/mdnsCodec.js';
import { decodeSsdpMessage } from '../../src/discovery/ssdpCodec.js';
import { decodeWsdMessage } from '../../src/discovery/wsdCodec.js';
import { addressesOfAnswer, decodeQueryAnswer } from '../../src/dns/query.js';
import { judgeUpdateAnswer } from '../../src/dns/rfc2136.js';
import { parseUsers } from '../../src/dns/users.js';
import { PortholeError } from '../../src/errors/index.js';
import { parseIgdDescription } from '../../src/gateway/igdDescription.js';
import { decodeNatpmpResponse } from '../../src/gateway/natpmpCodec.js';
import { decodePcpResponse } from '../../src/gateway/pcpCodec.js';
import { decodeSsdpAnswer } from '../../src/gateway/ssdpCodec.js';
import { parseManifest } from '../../src/manifest/parse.js';
import { decodeProxyHeader } from '../../src/relay/proxyProtocol.js';
import { parseTenants } from '../../src/relay/tenants.js';
import { UdpFrameDecoder } from '../../src/relay/udpCodec.js';
import { decodeWsFrame } from '../../src/relay/wsCodec.js';
import { captures, check, loadTarget, runFuzzTarget, targetNames } from '../fuzz/runner.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
const SEED = process.env.FUZZ_SEED === undefined ? Date.now() % 2 ** 31 : Number(process.env.FUZZ_SEED);
/** Far above the 10 ms goal (a figure in docs/RELIABILITY.md, not a timed test): only a hang fails here. */
const HANG_MS = 1000;
const CRASHES = new URL('../fixtures/fuzz/', import.meta.url);

describe(`fuzz: ${RUNS} inputs per target (seed ${SEED})`, () => {
  for (const name of targetNames()) {
    it(`${name}: every input decodes to a value or a coded rejection, and valid messages round-trip`, async () => {
      const target = await loadTarget(name);
      // A slow target's own smaller count, unless FUZZ_RUNS asks for a number.
      const runs = process.env.FUZZ_RUNS === undefined ? Math.min(RUNS, target.shortRuns ?? RUNS) : RUNS;
      const report = runFuzzTarget(target, { runs, seed: SEED });
      assert.equal(report.inputs, runs);
      assert.deepEqual(
        report.crashes.map((crash) => `${crash.signature} on ${Buffer.from(crash.bytes).toString('hex')}`),
        [],
        `replay with FUZZ_SEED=${SEED}`,
      );
      assert.ok(report.values > 0 && report.rejected > 0, 'the inputs reach both outcomes');
      assert.ok(report.slowestMs < HANG_MS, `slowest input ${report.slowestMs} ms`);
    });
  }
});

describe('fuzz: crashes found before stay fixed', () => {
  const fixtures = readdirSync(CRASHES).filter((file) => file.endsWith('.bin'));
  for (const file of fixtures) {
    it(`${file} no longer breaks its decoder`, async () => {
      const target = await loadTarget(file.split('--')[0] ?? '');
      assert.equal(check(target, { bytes: readFileSync(new URL(file, CRASHES)) }).signature, undefined);
    });
  }

  it('igdDescription: a control URL that is not a URL skips that service instead of throwing a TypeError', () => {
    const xml = readFileSync(new URL('igdDescription--control-url-not-a-url.bin', CRASHES), 'utf8');
    assert.deepEqual(parseIgdDescription(xml, 'http://192.168.77.1:5000/rootDesc.xml').services, []);
    const good = '<controlURL>/ctl/IPConn</controlURL>';
    const both =
      '<root><device><serviceList>' +
      '<service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:2</serviceType><controlURL>p://></controlURL></service>' +
      `<service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType>${good}</service>` +
      '</serviceList></device></root>';
    assert.deepEqual(parseIgdDescription(both, 'http://192.168.77.1:5000/rootDesc.xml').services, [
      {
        serviceType: 'urn:schemas-upnp-org:service:WANIPConnection:1',
        controlUrl: 'http://192.168.77.1:5000/ctl/IPConn',
      },
    ]);
  });

  it('manifest: an alias without its anchor, or too many aliases, is E_MANIFEST_SYNTAX, not an uncoded error', () => {
    // The billion-laughs shape goes the same way: yaml's alias cap throws from the same place.
    const laughs =
      'a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n' +
      'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\nname: x\nports: [*d]\n';
    for (const text of [
      readFileSync(new URL('manifest--unresolved-alias.bin', CRASHES), 'utf8'),
      'name: x\nports: *nowhere\n',
      laughs,
    ]) {
      assert.throws(
        () => parseManifest(text, 'alias.yaml'),
        (error) => error instanceof PortholeError && error.code === 'E_MANIFEST_SYNTAX' && /alias/i.test(error.message),
      );
    }
  });
});

describe('fuzz: what the targets for the newer decoders found stays fixed', () => {
  const fixture = (file: string) => readFileSync(new URL(file, CRASHES));

  it("dnsQuery: AAAA answers are read in RFC 5952 text, not dns-packet's (which made every run send an UPDATE)", () => {
    // dns-packet writes 7772:0:0:1:: as 7772::1:0:0:0:0 (the first zero run, not the longest).
    const message = fixture('dnsQuery--ipv6-not-rfc5952.bin').subarray(1);
    const answer = decodeQueryAnswer(message, message.readUInt16BE(0), 'host.example.test', 'AAAA', 'fuzz');
    assert.ok(answer);
    assert.deepEqual(addressesOfAnswer(answer, 'host.example.test', 'AAAA', 'fuzz').addresses, [
      '7772:0:0:1::',
      '::4:543:97:8:f8:e',
    ]);
  });

  it("mdns: AAAA records are read in RFC 5952 text, not dns-packet's", () => {
    const { records } = decodeMdnsMessage(fixture('mdns--ipv6-not-rfc5952.bin'));
    assert.deepEqual(records, [{ type: 'AAAA', name: 'lab-lan2.local', ttl: 120, address: 'b9c:0:0:913::' }]);
  });

  it('mdns: a header counting more records than the bytes hold is refused before dns-packet reads past the end', () => {
    const bytes = fixture('mdns--counts-past-the-end.bin');
    assert.equal(bytes.length, 28);
    assert.throws(
      () => decodeMdnsMessage(bytes),
      (error) =>
        error instanceof PortholeError && error.code === 'E_DISCOVERY_MALFORMED' && /header counts/.test(error.message),
    );
  });

  it('mdns: 555 address records for one name are all kept once each, repeats and goodbyes still apply', () => {
    // Each record used to be compared with every one before it (140 ms for this datagram).
    const { records } = decodeMdnsMessage(fixture('mdns--555-records-one-name.bin'));
    assert.equal(records.length, 555);
    const heard = new DnsSdRecords();
    heard.add(records);
    heard.add(records.slice(0, 10));
    assert.equal(heard.get('A', 'X.local').length, 555);
    // A repeat is the newest word on its record: it moves to the end.
    assert.deepEqual(heard.get('A', 'x.local').at(-1), records[9]);
    heard.add(records.slice(0, 5).map((record) => ({ ...record, ttl: 0 })));
    assert.equal(heard.get('A', 'x.local').length, 550);
  });

  it('wsd: entity and character references in a ProbeMatch are resolved (XAddrs with &amp;, a scope with &#39;)', () => {
    const message = decodeWsdMessage(fixture('wsd--escaped-xaddrs.bin'));
    assert.equal(message.kind, 'probe-matches');
    assert.deepEqual(message.kind === 'probe-matches' && message.matches[0], {
      endpoint: 'urn:uuid:cam',
      types: ['dn:NetworkVideoTransmitter'],
      scopes: ["onvif://www.onvif.org/name/O'Brien&Co"],
      xaddrs: ['http://192.168.77.30/onvif?a=1&b=2'],
      metadataVersion: '1',
    });
  });

  it('dnsUsers: a name in the users file that is not a DNS name is E_DNS_USERS_FILE naming the entry, not E_DNS_NAME', () => {
    assert.throws(
      () => parseUsers(readFileSync(new URL('dnsUsers--name-not-a-dns-name.bin', CRASHES), 'utf8'), 'dyn.example.net'),
      (error) =>
        error instanceof PortholeError &&
        error.code === 'E_DNS_USERS_FILE' &&
        /users\[0\]: ".*" is not a DNS name/.test(error.message),
    );
  });

  it('relayTenants: a truncated RSA key that makes ssh2 throw an AssertionError is a listed problem, E_RELAY_TENANTS', () => {
    assert.throws(
      () => parseTenants(readFileSync(new URL('relayTenants--rsa-key-ssh2-asserts.bin', CRASHES), 'utf8'), 't.yaml'),
      (error) =>
        error instanceof PortholeError &&
        error.code === 'E_RELAY_TENANTS' &&
        /tenants\.0 \(a\): key "ssh-rsa/.test(error.message),
    );
  });

  it('relay framings reject with E_RELAY_MALFORMED, not an uncoded Error', () => {
    const coded = (error: unknown) => error instanceof PortholeError && error.code === 'E_RELAY_MALFORMED';
    assert.throws(() => decodeProxyHeader(Buffer.from('GET / HTTP/1.1\r\n')), coded);
    assert.throws(() => decodeWsFrame(Buffer.from([0x83, 0x00])), coded);
    assert.throws(() => new UdpFrameDecoder().push(Buffer.from([0, 0, 0, 0, 1])), coded);
  });
});

describe('fuzz seeds: the real miniupnpd 2.3.1 captures decode as the lab saw them', () => {
  const one = (name: string) => {
    const [bytes] = captures(`miniupnpd-2.3.1-${name}`);
    assert.ok(bytes, name);
    return bytes;
  };
  it('NAT-PMP external address and map', () => {
    assert.deepEqual(decodeNatpmpResponse(one('natpmp-external-address')), {
      kind: 'external-address',
      result: 0,
      epoch: 2,
      externalIp: '203.0.113.1',
    });
    assert.deepEqual(decodeNatpmpResponse(one('natpmp-map-tcp-7001')), {
      kind: 'map',
      protocol: 'tcp',
      result: 0,
      epoch: 2,
      internalPort: 7001,
      externalPort: 7001,
      lifetime: 60,
    });
  });
  it('PCP ANNOUNCE and a MAP of 120 s', () => {
    assert.equal(decodePcpResponse(one('pcp-announce')).opcode, 0);
    const map = decodePcpResponse(one('pcp-map-udp-50123'));
    assert.deepEqual(
      [map.result, map.lifetime, map.map?.externalIp, map.map?.externalPort],
      [0, 120, '203.0.113.1', 50123],
    );
  });
  it('SSDP answer', () => {
    assert.equal(decodeSsdpAnswer(one('ssdp-igd1'))?.location, 'http://192.168.77.1:5000/rootDesc.xml');
  });
});

describe('fuzz seeds: the real BIND, Knot, avahi, minidlna and wsdd captures decode as the lab saw them', () => {
  it('BIND 9 and Knot answers to a signed UPDATE: verified NOERROR, NOTAUTH, and BADTIME as a TSIG error', async () => {
    const { target, capturedUpdateAnswers } = await import('../fuzz/dnsUpdate.fuzz.js');
    const verdicts = capturedUpdateAnswers().map((capture, index) => [
      capture.file,
      target.decode(target.seeds[index] ?? new Uint8Array()),
    ]);
    assert.deepEqual(verdicts, [
      ['bind9-9.18.49-update-badtime.json', 'E_DNS_BADTIME'],
      ['bind9-9.18.49-update-noerror.json', 'ok'],
      ['bind9-9.18.49-update-notauth.json', 'E_DNS_NOTAUTH'],
      ['knot-3.2.6-update-badtime.json', 'E_DNS_BADTIME'],
      ['knot-3.2.6-update-noerror.json', 'ok'],
    ]);
    // One flipped bit in BIND's MAC is a forged answer: a coded rejection, never an exception.
    const forged = Uint8Array.from(target.seeds[1] ?? []);
    forged[forged.length - 20] = (forged[forged.length - 20] ?? 0) ^ 1;
    assert.throws(
      () => target.decode(forged),
      (error) => error instanceof PortholeError && error.code === 'E_DNS_RESPONSE_SIGNATURE',
    );
    // Its Time Signed moved by one second (the MAC covers it): forged too.
    const retimed = Uint8Array.from(target.seeds[1] ?? []);
    retimed[retimed.length - 44] = (retimed[retimed.length - 44] ?? 0) ^ 1;
    assert.throws(
      () => target.decode(retimed),
      (error) => error instanceof PortholeError && error.code === 'E_DNS_RESPONSE_SIGNATURE',
    );
    // The genuine answer read by a clock 1000 s later than BIND's: outside the fudge, BADTIME.
    const bind = capturedUpdateAnswers()[1];
    assert.ok(bind);
    const message = Buffer.from(bind.answer, 'hex');
    assert.throws(
      () =>
        judgeUpdateAnswer(message, {
          id: message.readUInt16BE(0),
          key: { ...bind.key, secret: Buffer.from(bind.key.secret, 'base64') },
          requestMac: Buffer.from(bind.requestMac, 'hex'),
          nowSeconds: bind.nowSeconds + 1000,
          where: 'bind',
        }),
      (error) => error instanceof PortholeError && error.code === 'E_DNS_BADTIME',
    );
  });

  it("avahi's answers resolve to the lab's service; minidlna's and wsdd's are answers from their device", () => {
    const avahi = [1, 2, 3].flatMap(
      (n) => decodeMdnsMessage(captures(`avahi-0.8-mdns-${n}`, 'discovery')[0] ?? new Uint8Array()).records,
    );
    const heard = new DnsSdRecords();
    heard.add(avahi);
    assert.deepEqual(
      resolveServices(heard, ['_porthole-lab._tcp']).instances.map((i) => [i.name, i.port, i.address]),
      [
        ['porthole lab media', 7001, '192.168.77.11'],
        ['porthole lab media', 7001, '2001:db8:77::11'],
      ],
    );
    const dlna = captures('minidlna-1.3.0-ssdp-', 'discovery').map((bytes) => decodeSsdpMessage(bytes));
    assert.equal(dlna.length, 6);
    assert.ok(dlna.every((m) => m.kind === 'answer' && m.headers.get('location')?.endsWith(':8200/rootDesc.xml')));
    const wsdd = decodeWsdMessage(
      readFileSync(new URL('../fixtures/discovery/wsdd-0.7.0-probematches-1.xml', import.meta.url)),
    );
    assert.equal(
      wsdd.kind === 'probe-matches' && wsdd.matches[0]?.endpoint,
      'urn:uuid:2f3c6a7e-7b1d-4c55-9f2a-00000000d15c',
    );
  });
});
