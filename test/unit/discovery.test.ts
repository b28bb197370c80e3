/**
 * LAN discovery: codecs by round trip and fixture, DNS-SD assembly, interface planning, and
 * discover() against responders on loopback sockets (unicast targets: nothing is multicast here).
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { after, describe, it } from 'node:test';
import dnsPacket from 'dns-packet';
import { discoverAll, typesByProtocol } from '../../src/discovery/discover.js';
import { DnsSdRecords, resolveServices } from '../../src/discovery/dnssd.js';
import { planSockets } from '../../src/discovery/interfaces.js';
import {
  decodeMdnsMessage,
  encodeMdnsQuery,
  encodeMdnsResponse,
  type MdnsRecord,
  questionWantsUnicast,
  SERVICES_META,
} from '../../src/discovery/mdnsCodec.js';
import { sniffProtocol } from '../../src/discovery/session.js';
import {
  decodeSsdpMessage,
  encodeSsdpNotify,
  encodeSsdpSearch,
  locationEndpoint,
} from '../../src/discovery/ssdpCodec.js';
import type { DiscoveryAnswer } from '../../src/discovery/types.js';
import {
  decodeWsdMessage,
  encodeWsdProbe,
  encodeWsdProbeMatches,
  encodeWsdResolve,
  encodeWsdResolveMatches,
} from '../../src/discovery/wsdCodec.js';
import { PortholeError } from '../../src/errors/index.js';
import { listInterfaces } from '../../src/net/localNetwork.js';
import { ONVIF_FIXTURE_ENDPOINT, onvifProbeMatch, startOnvifResponder } from '../fixtures/discovery/onvifResponder.js';
import { runCliJson } from '../support/cli.js';

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const code = (error: unknown) => (error instanceof PortholeError ? error.code : undefined);
const refused = (run: () => unknown) => {
  assert.throws(run, (error: unknown) => code(error) === 'E_DISCOVERY_MALFORMED');
};

describe('SSDP codec', () => {
  it('builds M-SEARCH with the HOST of the family', () => {
    const v4 = text(encodeSsdpSearch('ssdp:all'));
    assert.match(v4, /^M-SEARCH \* HTTP\/1\.1\r\nHOST: 239\.255\.255\.250:1900\r\n/);
    assert.match(v4, /ST: ssdp:all\r\n\r\n$/);
    assert.match(text(encodeSsdpSearch('ssdp:all', 'ff02::c')), /HOST: \[FF02::C\]:1900/);
    const decoded = decodeSsdpMessage(encodeSsdpSearch('upnp:rootdevice'));
    assert.equal(decoded.kind, 'search');
    assert.equal(decoded.headers.get('st'), 'upnp:rootdevice');
  });

  it('reads NOTIFY alive and byebye, and search answers with headers in any case', () => {
    const alive = decodeSsdpMessage(
      encodeSsdpNotify({
        nt: 'upnp:rootdevice',
        usn: 'uuid:1::upnp:rootdevice',
        location: 'http://10.0.0.2:8200/rootDesc.xml',
      }),
    );
    assert.equal(alive.kind, 'alive');
    assert.equal(alive.headers.get('usn'), 'uuid:1::upnp:rootdevice');
    const bye = decodeSsdpMessage(new TextEncoder().encode('NOTIFY * HTTP/1.1\r\nNTS: ssdp:byebye\r\nNT: x\r\n\r\n'));
    assert.equal(bye.kind, 'byebye');
    // minidlna 1.3's answer to an M-SEARCH, headers as it writes them.
    const answer = decodeSsdpMessage(
      new TextEncoder().encode(
        'HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=1810\r\nDATE: Mon, 30 Nov 2026 12:00:00 GMT\r\nST: urn:schemas-upnp-org:device:MediaServer:1\r\nUSN: uuid:4d696e69-444c-164e-9d41-001122334455::urn:schemas-upnp-org:device:MediaServer:1\r\nEXT:\r\nSERVER: Debian/12 DLNADOC/1.50 UPnP/1.0 MiniDLNA/1.3.3\r\nLOCATION: http://192.168.77.11:8200/rootDesc.xml\r\nContent-Length: 0\r\n\r\n',
      ),
    );
    assert.equal(answer.kind, 'answer');
    assert.deepEqual(locationEndpoint(answer.headers.get('location') ?? ''), { address: '192.168.77.11', port: 8200 });
    assert.deepEqual(locationEndpoint('http://[fe80::1]/d.xml'), { address: 'fe80::1', port: 80 });
  });

  it('refuses oversized datagrams and what is not SSDP', () => {
    refused(() => decodeSsdpMessage(new Uint8Array(9000).fill(0x41)));
    refused(() => decodeSsdpMessage(new TextEncoder().encode('GET / HTTP/1.1\r\n\r\n')));
    refused(() => decodeSsdpMessage(new TextEncoder().encode('HTTP/1.1 200 OK\r\nno colon here\r\n\r\n')));
  });
});

describe('mDNS codec', () => {
  it('sets the QU bit only when asked, on every question', () => {
    const questions = [
      { name: '_http._tcp.local', type: 'PTR' as const },
      { name: 'host.local', type: 'A' as const },
    ];
    const qu = encodeMdnsQuery(questions, { unicastResponse: true });
    const qm = encodeMdnsQuery(questions);
    assert.equal(questionWantsUnicast(qu, 0), true);
    assert.equal(questionWantsUnicast(qu, 1), true);
    assert.equal(questionWantsUnicast(qm, 0), false);
    assert.deepEqual(
      decodeMdnsMessage(qm).questions.map((q) => q.name),
      ['_http._tcp.local', 'host.local'],
    );
  });

  it('round-trips the records DNS-SD needs', () => {
    const records: MdnsRecord[] = [
      { type: 'PTR', name: '_http._tcp.local', ttl: 4500, target: 'Web._http._tcp.local' },
      { type: 'SRV', name: 'Web._http._tcp.local', ttl: 120, target: 'box.local', port: 8080 },
      { type: 'TXT', name: 'Web._http._tcp.local', ttl: 4500, strings: ['path=/', 'v=1'] },
      { type: 'A', name: 'box.local', ttl: 120, address: '192.168.77.11' },
      { type: 'AAAA', name: 'box.local', ttl: 120, address: 'fe80::1' },
    ];
    const decoded = decodeMdnsMessage(encodeMdnsResponse(records, 7));
    assert.equal(decoded.response, true);
    assert.equal(decoded.id, 7);
    assert.deepEqual(decoded.records, records);
  });

  it('refuses a compression loop, a truncated packet and a 9000-byte datagram', () => {
    // A response whose answer name is a pointer to itself (offset 12): a loop a naive decoder never leaves.
    const loop = Buffer.from([
      0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0xc0, 12, 0, 12, 0, 1, 0, 0, 0, 60, 0, 2, 0xc0, 12,
    ]);
    refused(() => decodeMdnsMessage(loop));
    // Two names pointing at each other.
    const mutual = Buffer.from([
      0, 0, 0x84, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0x61, 0xc0, 16, 1, 0x62, 0xc0, 12, 0, 12, 0, 1,
    ]);
    refused(() => decodeMdnsMessage(mutual));
    const valid = encodeMdnsResponse([{ type: 'A', name: 'a.local', ttl: 1, address: '10.0.0.1' }]);
    refused(() => decodeMdnsMessage(valid.subarray(0, valid.length - 3)));
    refused(() => decodeMdnsMessage(new Uint8Array(9000)));
  });
});

describe('DNS-SD assembly', () => {
  it('follows PTR to SRV and TXT to the address, asking for what is missing', () => {
    const heard = new DnsSdRecords();
    assert.deepEqual(resolveServices(heard, []).missing, []);
    heard.add([{ type: 'PTR', name: SERVICES_META, ttl: 4500, target: '_http._tcp.local' }]);
    assert.deepEqual(resolveServices(heard, []).missing, [{ name: '_http._tcp.local', type: 'PTR' }]);
    heard.add([{ type: 'PTR', name: '_http._tcp.local', ttl: 4500, target: 'My box._http._tcp.local' }]);
    assert.deepEqual(
      resolveServices(heard, []).missing.map((q) => q.type),
      ['SRV', 'TXT'],
    );
    heard.add([{ type: 'SRV', name: 'My box._http._tcp.local', ttl: 120, target: 'box.local', port: 80 }]);
    assert.deepEqual(
      resolveServices(heard, []).missing.map((q) => `${q.type} ${q.name}`),
      ['A box.local', 'AAAA box.local'],
    );
    heard.add([{ type: 'A', name: 'BOX.local', ttl: 120, address: '192.168.77.11' }]);
    const { instances, missing } = resolveServices(heard, []);
    assert.deepEqual(missing, []);
    assert.deepEqual(instances, [
      {
        fullName: 'My box._http._tcp.local',
        name: 'My box',
        type: '_http._tcp',
        host: 'box.local',
        port: 80,
        address: '192.168.77.11',
        txt: [],
      },
    ]);
    // A goodbye (TTL 0) removes the instance.
    heard.add([{ type: 'PTR', name: '_http._tcp.local', ttl: 0, target: 'My box._http._tcp.local' }]);
    assert.equal(resolveServices(heard, ['_http._tcp']).instances.length, 0);
  });

  it('sorts --type values to protocols by their shape', () => {
    assert.deepEqual(
      typesByProtocol([
        '_http._tcp',
        '_ipp._tcp.local',
        'urn:schemas-upnp-org:device:MediaServer:1',
        'dn:NetworkVideoTransmitter',
      ]),
      {
        mdns: ['_http._tcp', '_ipp._tcp'],
        ssdp: ['urn:schemas-upnp-org:device:MediaServer:1'],
        wsd: ['dn:NetworkVideoTransmitter'],
      },
    );
  });
});

describe('WS-Discovery codec', () => {
  it('round-trips Probe, Resolve and ProbeMatches', () => {
    const probe = decodeWsdMessage(encodeWsdProbe('dn:NetworkVideoTransmitter', 'urn:uuid:1'));
    assert.deepEqual(probe, { kind: 'probe', messageId: 'urn:uuid:1', types: ['dn:NetworkVideoTransmitter'] });
    assert.match(text(encodeWsdResolve('urn:uuid:e', 'urn:uuid:2')), /<wsa:Address>urn:uuid:e<\/wsa:Address>/);
    const match = {
      endpoint: 'urn:uuid:e',
      types: ['wsdp:Device'],
      scopes: [],
      xaddrs: ['http://10.0.0.2:5357/e'],
      metadataVersion: '1',
    };
    const decoded = decodeWsdMessage(encodeWsdProbeMatches('urn:uuid:1', 'urn:uuid:3', [match]));
    assert.deepEqual(decoded, {
      kind: 'probe-matches',
      relatesTo: 'urn:uuid:1',
      messageId: 'urn:uuid:3',
      matches: [match],
    });
  });

  it('reads the Hikvision-style ONVIF ProbeMatch fixture', () => {
    const decoded = decodeWsdMessage(new TextEncoder().encode(onvifProbeMatch('urn:uuid:9', '192.168.77.11')));
    assert.equal(decoded.kind, 'probe-matches');
    if (decoded.kind !== 'probe-matches') return;
    assert.equal(decoded.relatesTo, 'urn:uuid:9');
    const [match] = decoded.matches;
    assert.equal(match?.endpoint, ONVIF_FIXTURE_ENDPOINT);
    assert.deepEqual(match?.types, ['dn:NetworkVideoTransmitter', 'tds:Device']);
    assert.deepEqual(match?.xaddrs, ['http://192.168.77.11:8000/onvif/device_service']);
    assert.ok(match?.scopes.includes('onvif://www.onvif.org/hardware/DS-2CD2143G0-I'));
  });

  it('refuses a DOCTYPE, broken XML, oversize and non-SOAP', () => {
    const laughs =
      '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><Envelope><Header/><Body>&lol2;</Body></Envelope>';
    refused(() => decodeWsdMessage(new TextEncoder().encode(laughs)));
    refused(() => decodeWsdMessage(new TextEncoder().encode('<Envelope><Header>')));
    refused(() => decodeWsdMessage(new Uint8Array(40_000).fill(0x3c)));
    refused(() => decodeWsdMessage(new TextEncoder().encode('<html><body/></html>')));
  });

  it('tells the protocols apart by their first bytes', () => {
    assert.equal(sniffProtocol(encodeSsdpSearch('ssdp:all')), 'ssdp');
    assert.equal(sniffProtocol(encodeWsdProbe('wsdp:Device', 'x')), 'wsd');
    assert.equal(sniffProtocol(encodeMdnsQuery([{ name: 'a.local', type: 'A' }])), 'mdns');
  });
});

describe('interface planning', () => {
  const eth = {
    name: 'eth0',
    mac: '',
    internal: false,
    addresses: [
      { address: '192.168.77.10', family: 4 as const, prefix: 24, class: 'private' as const },
      { address: 'fe80::1', family: 6 as const, prefix: 64, class: 'link-local' as const },
    ],
  };
  const wlan = {
    name: 'wlan0',
    mac: '',
    internal: false,
    addresses: [{ address: '10.1.2.3', family: 4 as const, prefix: 24, class: 'private' as const }],
  };

  it('opens one socket per interface and family', () => {
    assert.deepEqual(planSockets([eth, wlan], {}), [
      { interface: 'eth0', family: 4, bindAddress: '192.168.77.10' },
      { interface: 'eth0', family: 6, bindAddress: 'fe80::1%eth0' },
      { interface: 'wlan0', family: 4, bindAddress: '10.1.2.3' },
    ]);
  });

  it('keeps to the lab under PORTHOLE_ONLY_GATEWAYS and refuses unknown interfaces', () => {
    const only = '192.168.77.0/24';
    assert.deepEqual(
      planSockets([eth, wlan], { only }).map((p) => p.interface),
      ['eth0', 'eth0'],
    );
    assert.throws(
      () => planSockets([eth, wlan], { only, names: ['wlan0'] }),
      (e: unknown) => code(e) === 'E_PERMISSION',
    );
    assert.throws(
      () => planSockets([eth], { names: ['nope0'] }),
      (e: unknown) => code(e) === 'E_DISCOVERY_INTERFACE',
    );
  });
});

/** A loopback responder: answers every datagram with `answer(request)` (one or more datagrams). */
async function responder(answer: (request: Buffer) => Uint8Array[]): Promise<{ port: number; socket: Socket }> {
  const socket = createSocket('udp4');
  socket.on('message', (message, remote) => {
    for (const datagram of answer(message)) socket.send(datagram, remote.port, remote.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { port: socket.address().port, socket };
}

describe('discover() on loopback', () => {
  const sockets: Socket[] = [];
  after(() => {
    for (const socket of sockets) socket.close();
  });
  const loopback = () => listInterfaces().filter((i) => i.name === 'lo');

  it('finds one answer per protocol, de-duplicated across the three sends, following DNS-SD step by step', async () => {
    let searches = 0;
    const ssdp = await responder(() => {
      searches++;
      return [
        new TextEncoder().encode(
          'HTTP/1.1 200 OK\r\nST: urn:schemas-upnp-org:device:MediaServer:1\r\nUSN: uuid:m::urn:schemas-upnp-org:device:MediaServer:1\r\nLOCATION: http://127.0.0.1:8200/rootDesc.xml\r\nSERVER: test\r\n\r\n',
        ),
      ];
    });
    // This responder answers only exactly what was asked, so discovery must walk PTR → SRV/TXT → A.
    const zone: MdnsRecord[] = [
      { type: 'PTR', name: SERVICES_META, ttl: 4500, target: '_nx._tcp.local' },
      { type: 'PTR', name: '_nx._tcp.local', ttl: 4500, target: 'Media._nx._tcp.local' },
      { type: 'SRV', name: 'Media._nx._tcp.local', ttl: 120, target: 'media.local', port: 7001 },
      { type: 'TXT', name: 'Media._nx._tcp.local', ttl: 4500, strings: ['id=1'] },
      { type: 'A', name: 'media.local', ttl: 120, address: '127.0.0.1' },
    ];
    const asked: string[] = [];
    const mdns = await responder((request) => {
      const query = dnsPacket.decode(request);
      const records = (query.questions ?? []).flatMap((q) => {
        asked.push(`${q.type} ${q.name}`);
        return zone.filter((r) => r.type === q.type && r.name === q.name);
      });
      return records.length > 0 ? [encodeMdnsResponse(records, query.id)] : [];
    });
    const wsd = await startOnvifResponder({ bindAddress: '127.0.0.1', port: 0, xaddrAddress: '127.0.0.1' });
    sockets.push(ssdp.socket, mdns.socket, wsd.socket);
    const warnings: string[] = [];
    const answers = await discoverAll({
      interfaces: ['lo'],
      available: loopback(),
      timeoutMs: 800,
      targets: {
        ssdp: { address: '127.0.0.1', port: ssdp.port },
        mdns: { address: '127.0.0.1', port: mdns.port },
        wsd: { address: '127.0.0.1', port: wsd.port },
      },
      onWarning: (w) => warnings.push(w),
    });
    assert.equal(searches, 3, 'the M-SEARCH goes out three times');
    const summary = (a: DiscoveryAnswer) => [a.protocol, a.name, a.type, a.address, a.port, a.interface].join(' ');
    assert.deepEqual(answers.map(summary).sort(), [
      'mdns Media _nx._tcp 127.0.0.1 7001 lo',
      `ssdp uuid:m::urn:schemas-upnp-org:device:MediaServer:1 urn:schemas-upnp-org:device:MediaServer:1 127.0.0.1 8200 lo`,
      `wsd ${ONVIF_FIXTURE_ENDPOINT} dn:NetworkVideoTransmitter tds:Device 127.0.0.1 8000 lo`,
    ]);
    assert.ok(asked.includes(`SRV Media._nx._tcp.local`) && asked.includes('A media.local'), asked.join(', '));
    assert.deepEqual(warnings, []);
  });

  it('refuses hostile answers as warnings and still reports the good one', async () => {
    const hostile = await responder((request) => {
      // The SSDP and WS-Discovery probes arrive here too: only DNS queries get the hostile set.
      if (sniffProtocol(request) !== 'mdns') return [];
      const query = dnsPacket.decode(request);
      return [
        new Uint8Array(9000),
        Buffer.from([0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0xc0, 12, 0, 12, 0, 1, 0, 0, 0, 60, 0, 2, 0xc0, 12]),
        new TextEncoder().encode('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><Envelope/>'),
        new TextEncoder().encode('HTTP/1.1 200 OK\r\nbroken header\r\n\r\n'),
        encodeMdnsResponse(
          [
            { type: 'PTR', name: '_nx._tcp.local', ttl: 4500, target: 'Ok._nx._tcp.local' },
            { type: 'SRV', name: 'Ok._nx._tcp.local', ttl: 120, target: 'ok.local', port: 7001 },
            { type: 'A', name: 'ok.local', ttl: 120, address: '127.0.0.1' },
          ],
          query.id,
        ),
      ];
    });
    sockets.push(hostile.socket);
    const warnings: string[] = [];
    const target = { address: '127.0.0.1', port: hostile.port };
    const answers = await discoverAll({
      interfaces: ['lo'],
      available: loopback(),
      types: ['_nx._tcp'],
      protocols: ['mdns', 'ssdp', 'wsd'],
      timeoutMs: 500,
      targets: { mdns: target, ssdp: target, wsd: target },
      onWarning: (w) => warnings.push(w),
    });
    assert.deepEqual(
      answers.map((a) => `${a.protocol} ${a.name} ${a.port}`),
      ['mdns Ok 7001'],
    );
    assert.ok(
      warnings.some((w) => /8972/.test(w)),
      warnings.join('\n'),
    );
    assert.ok(
      warnings.some((w) => /bad pointer/.test(w)),
      warnings.join('\n'),
    );
    assert.ok(
      warnings.some((w) => /DOCTYPE/.test(w)),
      warnings.join('\n'),
    );
    assert.ok(
      warnings.some((w) => /header line without a name/.test(w)),
      warnings.join('\n'),
    );
  });

  it('ends once the LAN is quiet, or listens the whole timeout with quietMs 0', async () => {
    const silent = { address: '127.0.0.1', port: 9 };
    const targets = { ssdp: silent, mdns: silent, wsd: silent };
    let started = performance.now();
    await discoverAll({ interfaces: ['lo'], available: loopback(), timeoutMs: 5000, targets, protocols: ['mdns'] });
    const quietEnd = performance.now() - started;
    assert.ok(quietEnd >= 640 && quietEnd < 1000, `ended after ${quietEnd} ms: the last probe (250 ms) + 400 ms quiet`);
    started = performance.now();
    assert.deepEqual(await discoverAll({ interfaces: ['lo'], available: loopback(), timeoutMs: 5000, targets }), []);
    const mxEnd = performance.now() - started;
    assert.ok(mxEnd >= 1090 && mxEnd < 1600, `ended after ${mxEnd} ms: asking SSDP waits out MX (1 s) + 100 ms`);
    started = performance.now();
    await discoverAll({ interfaces: ['lo'], available: loopback(), timeoutMs: 900, quietMs: 0, targets });
    assert.ok(performance.now() - started >= 890, 'quietMs 0 waits for the timeout');
  });

  it('waits past the timeout, once and bounded, for a device whose Resolve is still unanswered', async () => {
    // wsdd-like: the ProbeMatch names no address; the ResolveMatch comes `resolveAfterMs` later (a busy host).
    const slowDevice = async (resolveAfterMs: number | null) => {
      const socket = createSocket('udp4');
      const match = { endpoint: 'urn:uuid:slow', types: ['wsdp:Device'], scopes: [], metadataVersion: '1' };
      socket.on('message', (message, remote) => {
        const request = decodeWsdMessage(message);
        const reply = (bytes: Uint8Array) => socket.send(bytes, remote.port, remote.address);
        if (request.kind === 'probe')
          reply(encodeWsdProbeMatches(request.messageId, 'urn:uuid:pm', [{ ...match, xaddrs: [] }]));
        else if (request.kind === 'other' && /Resolve$/.test(request.action) && resolveAfterMs !== null)
          setTimeout(
            () =>
              reply(
                encodeWsdResolveMatches(request.messageId, 'urn:uuid:rm', {
                  ...match,
                  xaddrs: ['http://127.0.0.1:5357/slow'],
                }),
              ),
            resolveAfterMs,
          );
      });
      await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
      sockets.push(socket);
      return { address: '127.0.0.1', port: socket.address().port };
    };
    const run = async (resolveAfterMs: number | null) => {
      const started = performance.now();
      const answers = await discoverAll({
        interfaces: ['lo'],
        available: loopback(),
        protocols: ['wsd'],
        timeoutMs: 500,
        targets: { wsd: await slowDevice(resolveAfterMs) },
      });
      return { answers: answers.map((a) => `${a.name} ${a.address} ${a.port}`), ms: performance.now() - started };
    };
    const late = await run(700);
    assert.deepEqual(late.answers, ['urn:uuid:slow 127.0.0.1 5357'], 'the address that came after the timeout');
    assert.ok(late.ms < 1500, `ended ${late.ms} ms after it started: once the address came, not at the grace's end`);
    const never = await run(null);
    assert.deepEqual(never.answers, []);
    assert.ok(
      never.ms >= 1490 && never.ms < 2000,
      `ended after ${never.ms} ms: the timeout (500) and one grace (1000)`,
    );
  });

  it('ends at once on abort, closing its sockets', async () => {
    const controller = new AbortController();
    const started = performance.now();
    setTimeout(() => controller.abort(), 50);
    await assert.rejects(
      discoverAll({
        interfaces: ['lo'],
        available: loopback(),
        timeoutMs: 5000,
        signal: controller.signal,
        targets: {
          ssdp: { address: '127.0.0.1', port: 9 },
          mdns: { address: '127.0.0.1', port: 9 },
          wsd: { address: '127.0.0.1', port: 9 },
        },
      }),
      (error: unknown) => code(error) === 'E_ABORTED',
    );
    assert.ok(performance.now() - started < 1000);
  });
});

describe('porthole discover (the command)', () => {
  // The run stays inside the lab's LAN, which this machine has no interface in: nothing is sent.
  process.env.PORTHOLE_ONLY_GATEWAYS ??= '192.168.77.0/24';
  const cli = runCliJson;

  it('refuses an unknown protocol or interface as usage (exit 2) before sending anything', async () => {
    const protocol = await cli(['discover', '--protocol', 'netbios', '--json']);
    assert.equal(protocol.status, 2);
    assert.equal((protocol.json.error as { code?: string } | undefined)?.code, 'E_USAGE');
    const iface = await cli(['discover', '--interface', 'nope0', '--json']);
    assert.equal(iface.status, 2);
    assert.equal((iface.json.error as { code?: string } | undefined)?.code, 'E_DISCOVERY_INTERFACE');
  });

  it('exits 1 with an empty list when nothing answered', async () => {
    const result = await cli(['discover', '--timeout', '300', '--json']);
    assert.equal(result.status, 1);
    assert.deepEqual(result.json.answers, []);
  });
});
