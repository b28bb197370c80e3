/**
 * IPv6 and UDP pieces without the lab: which targets are refused and why, the UDP service
 * payloads (round trips against crafted answers), probeUdpService on loopback sockets, the IGDv2
 * pinhole client against a fake IGD replaying real miniupnpd 2.3.1 answers (sent from the
 * InternalClient address), the checker's endpoints per family, and the lab's IPv6 router config.
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { miniupnpdConfig, routerRuleset } from '../../lab/routerConfig.js';
import { resolveOptions } from '../../lab/topology.js';
import { checkerEndpoints } from '../../src/checkerClient/index.js';
import { PortholeError } from '../../src/errors/index.js';
import { parseIgdDescription } from '../../src/gateway/igdDescription.js';
import type { AddressPolicy } from '../../src/gateway/igdHttp.js';
import { decodePcpResponse, encodePcpMap } from '../../src/gateway/pcpCodec.js';
import { onLinkRouterPolicy } from '../../src/gateway/pinhole.js';
import { createUpnpPinholeClient, type PinholeActionError } from '../../src/gateway/upnpPinhole.js';
import { unusableTargetReason } from '../../src/net/targetAddress.js';
import { probePorts } from '../../src/probe/scan.js';
import { DNS_PAYLOAD, NTP_PAYLOAD, payloadForPort, SIP_PAYLOAD, STUN_PAYLOAD } from '../../src/probe/udpPayloads.js';
import { probeUdpService } from '../../src/probe/udpService.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/igd/${name}`, import.meta.url), 'utf8');

describe('targets porthole refuses, and why', () => {
  it('refuses zone ids, link-local and IPv4-mapped addresses; accepts global ones and names', () => {
    assert.match(unusableTargetReason('fe80::1%eth0') ?? '', /zone id \(%eth0\)/);
    assert.match(unusableTargetReason('[fe80::1]') ?? '', /link-local/);
    assert.match(unusableTargetReason('169.254.3.4') ?? '', /link-local/);
    assert.match(unusableTargetReason('::ffff:203.0.113.7') ?? '', /write the IPv4 address 203\.0\.113\.7/);
    assert.equal(unusableTargetReason('2001:db8::7'), undefined);
    assert.equal(unusableTargetReason('[2001:db8::7]'), undefined);
    assert.equal(unusableTargetReason('203.0.113.7'), undefined);
    assert.equal(unusableTargetReason('checker.example.net'), undefined);
  });
});

describe('UDP service payloads', () => {
  it('DNS: a query whose answer (same id, QR set) matches, and a request does not', () => {
    const request = DNS_PAYLOAD.build();
    const answer = Uint8Array.from(request);
    answer[2] = 0x81;
    assert.ok(DNS_PAYLOAD.matches(request, answer));
    assert.ok(!DNS_PAYLOAD.matches(request, request), 'its own query is not an answer');
    const other = Uint8Array.from(answer);
    other[0] = (other[0] ?? 0) ^ 0xff;
    assert.ok(!DNS_PAYLOAD.matches(request, other), 'another id is not ours');
  });

  it('STUN: a Binding success with our transaction id matches', () => {
    const request = STUN_PAYLOAD.build();
    assert.equal(request.length, 20);
    const answer = Uint8Array.from(request);
    answer[0] = 0x01;
    answer[1] = 0x01;
    assert.ok(STUN_PAYLOAD.matches(request, answer));
    answer[19] = (answer[19] ?? 0) ^ 1;
    assert.ok(!STUN_PAYLOAD.matches(request, answer));
  });

  it('SIP: a status line with our Call-ID matches', () => {
    const request = SIP_PAYLOAD.build();
    const callId = /Call-ID: (\S+)/.exec(Buffer.from(request).toString())?.[1];
    assert.ok(callId);
    const answer = new TextEncoder().encode(`SIP/2.0 200 OK\r\nCall-ID: ${callId}\r\n\r\n`);
    assert.ok(SIP_PAYLOAD.matches(request, answer));
    assert.ok(!SIP_PAYLOAD.matches(request, new TextEncoder().encode('SIP/2.0 200 OK\r\nCall-ID: other\r\n\r\n')));
  });

  it('NTP: a server answer (mode 4) echoing our transmit time matches', () => {
    const request = NTP_PAYLOAD.build();
    const answer = new Uint8Array(48);
    answer[0] = 0x24;
    answer.set(request.subarray(40, 48), 24);
    assert.ok(NTP_PAYLOAD.matches(request, answer));
    assert.ok(!NTP_PAYLOAD.matches(request, request));
  });

  it('picks payloads by well-known port, none for others', () => {
    assert.equal(payloadForPort(53)?.service, 'dns');
    assert.equal(payloadForPort(3478)?.service, 'stun');
    assert.equal(payloadForPort(5060)?.service, 'sip');
    assert.equal(payloadForPort(123)?.service, 'ntp');
    assert.equal(payloadForPort(5800), undefined);
  });
});

describe('probeUdpService on loopback', () => {
  const sockets: UdpSocket[] = [];
  const bind = (onMessage: (socket: UdpSocket, message: Buffer, port: number, address: string) => void) =>
    new Promise<number>((resolve) => {
      const socket = createSocket('udp4');
      sockets.push(socket);
      socket.on('message', (message, remote) => onMessage(socket, message, remote.port, remote.address));
      socket.bind(0, '127.0.0.1', () => resolve(socket.address().port));
    });
  after(() => {
    for (const socket of sockets) socket.close();
  });

  it('an answering server is open, a silent one open|filtered, a closed port closed', async () => {
    const echo = await bind((socket, message, port, address) => socket.send(message, port, address));
    const silent = await bind(() => {});
    const closedPort = await bind(() => {});
    sockets.pop()?.close();
    const [open, quiet, closed] = await Promise.all([
      probeUdpService('127.0.0.1', echo, { timeoutMs: 300 }),
      probeUdpService('127.0.0.1', silent, { timeoutMs: 300 }),
      probeUdpService('127.0.0.1', closedPort, { timeoutMs: 300 }),
    ]);
    assert.deepEqual([open.state, open.reason], ['open', 'udp-response']);
    assert.deepEqual([quiet.state, quiet.reason], ['open|filtered', 'no-response']);
    assert.deepEqual([closed.state, closed.reason], ['closed', 'port-unreach']);
  });

  it('in a scan, silence is decided on the measured round trip (as nmap adapts), not the whole timeout', async () => {
    const silent = await bind(() => {});
    const closedPort = await bind(() => {});
    sockets.pop()?.close();
    const started = performance.now();
    const results = await probePorts(
      '127.0.0.1',
      [
        { protocol: 'udp', port: closedPort },
        { protocol: 'udp', port: silent },
      ],
      { timeoutMs: 5000, concurrency: 2 },
    );
    const took = performance.now() - started;
    assert.deepEqual(
      results.map((r) => r.state),
      ['closed', 'open|filtered'],
    );
    assert.ok(took < 2000, `decided in ${Math.round(took)} ms, not the 5 s timeout`);
  });

  it('an aborted probe rejects with the reason and leaves nothing behind', async () => {
    const silent = await bind(() => {});
    const controller = new AbortController();
    const probe = probeUdpService('127.0.0.1', silent, { timeoutMs: 5000, signal: controller.signal });
    controller.abort(new PortholeError('E_ABORTED'));
    await assert.rejects(probe, (error: PortholeError) => error.code === 'E_ABORTED');
  });
});

describe('IGDv2 pinholes against a fake IGD replaying miniupnpd 2.3.1', () => {
  let server: Server;
  let controlUrl: string;
  const seen: { action: string; from: string; body: string }[] = [];
  let answer: (action: string) => { status: number; body: string } = () => ({ status: 500, body: '' });
  const loopback: AddressPolicy = (url) => (url.hostname === '127.0.0.1' ? undefined : 'not loopback');
  before(async () => {
    server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => {
        body += chunk;
      });
      request.on('end', () => {
        const action = /#(\w+)"/.exec(String(request.headers.soapaction))?.[1] ?? '';
        seen.push({ action, from: request.socket.remoteAddress ?? '', body });
        const { status, body: reply } = answer(action);
        response.writeHead(status, { 'content-type': 'text/xml' }).end(reply);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    controlUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ctl/IP6FCtl`;
  });
  after(() => server.close());

  // 127.0.0.2 stands for the host's global IPv6: the request must leave from the InternalClient address.
  const client = () =>
    createUpnpPinholeClient({ gateway: '127.0.0.1', internalAddress: '127.0.0.2', controlUrl, policy: loopback });

  it('opens a pinhole from the InternalClient address and keeps its UniqueID', async () => {
    answer = () => ({ status: 200, body: fixture('miniupnpd-2.3.1-AddPinhole.xml') });
    seen.length = 0;
    const mapping = await client().map({ protocol: 'udp', internalPort: 7001, lifetimeSeconds: 0, description: '' });
    assert.deepEqual(
      [mapping.pinholeId, mapping.family, mapping.lifetime, mapping.externalIp],
      [1, 6, 86_400, '127.0.0.2'],
    );
    assert.equal(seen[0]?.from, '127.0.0.2');
    assert.match(seen[0]?.body ?? '', /<Protocol>17<\/Protocol>.*<LeaseTime>86400<\/LeaseTime>/);
  });

  it('606 for a low port is E_PINHOLE_REFUSED whose hint names the rule', async () => {
    answer = () => ({ status: 500, body: fixture('miniupnpd-2.3.1-AddPinhole-606-low-port.xml') });
    await assert.rejects(
      client().map({ protocol: 'tcp', internalPort: 80, lifetimeSeconds: 60, description: '' }),
      (error: PinholeActionError) =>
        error.code === 'E_PINHOLE_REFUSED' && error.upnpCode === 606 && /below 1024/.test(error.hint ?? ''),
    );
    await assert.rejects(
      client().map({ protocol: 'tcp', internalPort: 7001, lifetimeSeconds: 60, description: '' }),
      (error: PinholeActionError) => /InternalClient address/.test(error.hint ?? ''),
    );
  });

  it('a renewal the router no longer knows (402 from miniupnpd) opens the pinhole again; delete of a gone one is quiet', async () => {
    answer = (action) =>
      action === 'UpdatePinhole' || action === 'DeletePinhole'
        ? { status: 500, body: fixture('miniupnpd-2.3.1-DeletePinhole-402-unknown-id.xml') }
        : { status: 200, body: fixture('miniupnpd-2.3.1-AddPinhole.xml') };
    seen.length = 0;
    const pinholes = client();
    const stale = {
      method: 'upnp' as const,
      family: 6 as const,
      gateway: '127.0.0.1',
      protocol: 'tcp' as const,
      internalAddress: '127.0.0.2',
      internalPort: 7001,
      externalPort: 7001,
      externalIp: '127.0.0.2',
      lifetime: 60,
      pinholeId: 9,
    };
    const renewed = await pinholes.renew(stale);
    assert.deepEqual(
      seen.map((s) => s.action),
      ['UpdatePinhole', 'AddPinhole'],
    );
    assert.equal(renewed.pinholeId, 1);
    await pinholes.unmap(stale);
  });

  it('GetFirewallStatus reads the firewall and inbound-pinhole switches', async () => {
    answer = () => ({ status: 200, body: fixture('miniupnpd-2.3.1-GetFirewallStatus.xml') });
    assert.deepEqual(await client().firewallStatus(), { firewallEnabled: true, inboundPinholeAllowed: true });
  });

  it("miniupnpd's description has the WANIPv6FirewallControl control URL", () => {
    const description = parseIgdDescription(
      fixture('miniupnpd-2.3.1-rootDesc.xml'),
      'http://[2001:db8:77::1]:5000/rootDesc.xml',
    );
    assert.equal(description.firewallControlUrl, 'http://[2001:db8:77::1]:5000/ctl/IP6FCtl');
  });

  it("the IPv6 router's URLs must be the gateway or an address on this host's /64, never a name", () => {
    const policy = onLinkRouterPolicy('2001:db8:77::10');
    assert.equal(policy(new URL('http://[2001:db8:77::1]:5000/x'), 'fe80::1%eth0'), undefined);
    assert.equal(policy(new URL('http://[fe80::1]:5000/x'), 'fe80::1%eth0'), undefined);
    assert.match(policy(new URL('http://[2001:db8:99::1]:5000/x'), 'fe80::1') ?? '', /neither/);
    assert.match(policy(new URL('http://router.example:5000/x'), 'fe80::1') ?? '', /name/);
  });
});

describe('PCP MAP for an IPv6 pinhole', () => {
  it('carries the global IPv6 client address and the IPv6 "any" external address, and reads back an IPv6 answer', () => {
    const nonce = new Uint8Array(12).fill(7);
    const request = encodePcpMap('2001:db8:77::10', 600, {
      nonce,
      protocol: 'tcp',
      internalPort: 7001,
      externalPort: 7001,
      externalIp: '::',
    });
    assert.equal(Buffer.from(request.subarray(8, 24)).toString('hex'), '20010db8007700000000000000000010');
    assert.ok(
      request.subarray(44, 60).every((byte) => byte === 0),
      'external address ::',
    );
    const response = Uint8Array.from(request);
    response[1] = 0x81; // a MAP response, result 0
    const decoded = decodePcpResponse(response);
    assert.equal(decoded.map?.externalIp, '::');
    response.set(request.subarray(8, 24), 44);
    assert.equal(decodePcpResponse(response).map?.externalIp, '2001:db8:77::10');
  });
});

describe('checker endpoints per family', () => {
  it('a literal address gives its family; --checker6 adds IPv6; asking IPv6 of an IPv4-only checker is coded', async () => {
    const v4 = new URL('http://203.0.113.254:8080');
    assert.deepEqual(
      (await checkerEndpoints(v4)).map((e) => e.family),
      [4],
    );
    const both = await checkerEndpoints(v4, { checker6: new URL('http://[2001:db8:ff::254]:8080') });
    assert.deepEqual(
      both.map((e) => [e.family, e.url.hostname]),
      [
        [4, '203.0.113.254'],
        [6, '[2001:db8:ff::254]'],
      ],
    );
    await assert.rejects(
      checkerEndpoints(v4, { family: 'ipv6' }),
      (error: PortholeError) => error.code === 'E_NO_IPV6',
    );
    const only6 = await checkerEndpoints(new URL('http://[2001:db8:ff::254]:8080'), { family: 'ipv6' });
    assert.deepEqual(
      only6.map((e) => e.family),
      [6],
    );
  });
});

describe('the lab router on IPv6', () => {
  it('masquerades IPv4 only, lets ICMPv6 in, and closes PCP over IPv6 when NAT-PMP/PCP is off', () => {
    const on = routerRuleset(resolveOptions({ topology: 'home' }));
    assert.match(on, /meta nfproto ipv4 masquerade/);
    assert.match(on, /meta l4proto ipv6-icmp accept/);
    assert.doesNotMatch(on, /udp dport 5351 drop/);
    const off = routerRuleset(resolveOptions({ topology: 'home', natpmp: false }));
    assert.match(off, /meta nfproto ipv6 udp dport 5351 drop/);
    assert.match(miniupnpdConfig(resolveOptions({ topology: 'home' }), 'u'), /^ext_ifname6=wan0$/m);
  });
});
