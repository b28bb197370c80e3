/** Gateway codecs: round trips, real miniupnpd captures, and fixtures for quirks miniupnpd does not show. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { PortholeError } from '../../src/errors/index.js';
import { parseIgdDescription } from '../../src/gateway/igdDescription.js';
import { gatewayOnly } from '../../src/gateway/igdHttp.js';
import { epochShowsRestart, renewAfterSeconds } from '../../src/gateway/keeper.js';
import {
  decodeNatpmpResponse,
  encodeNatpmpExternalAddressRequest,
  encodeNatpmpMapRequest,
} from '../../src/gateway/natpmpCodec.js';
import { decodePcpResponse, encodePcpAnnounce, encodePcpMap } from '../../src/gateway/pcpCodec.js';
import { decodeSoapResponse, encodeSoapRequest, soapActionHeader } from '../../src/gateway/soapCodec.js';
import { decodeSsdpAnswer, encodeMSearch } from '../../src/gateway/ssdpCodec.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/igd/${name}`, import.meta.url), 'utf8');

function code(error: unknown): string | undefined {
  return error instanceof PortholeError ? error.code : undefined;
}

describe('NAT-PMP codec', () => {
  it('encodes requests as RFC 6886 lays them out', () => {
    assert.deepEqual([...encodeNatpmpExternalAddressRequest()], [0, 0]);
    assert.deepEqual(
      [...encodeNatpmpMapRequest('tcp', 7001, 7002, 3600)],
      [0, 2, 0, 0, 0x1b, 0x59, 0x1b, 0x5a, 0, 0, 0x0e, 0x10],
    );
    assert.equal(encodeNatpmpMapRequest('udp', 1, 1, 0)[1], 1);
  });

  it('decodes external-address and map responses', () => {
    const external = Uint8Array.of(0, 128, 0, 0, 0, 0, 0, 7, 203, 0, 113, 1);
    assert.deepEqual(decodeNatpmpResponse(external), {
      kind: 'external-address',
      result: 0,
      epoch: 7,
      externalIp: '203.0.113.1',
    });
    const map = Uint8Array.of(0, 130, 0, 0, 0, 0, 0, 9, 0x1b, 0x59, 0x1b, 0x5a, 0, 0, 0x0e, 0x10);
    assert.deepEqual(decodeNatpmpResponse(map), {
      kind: 'map',
      protocol: 'tcp',
      result: 0,
      epoch: 9,
      internalPort: 7001,
      externalPort: 7002,
      lifetime: 3600,
    });
  });

  it('reads a short error answer (unsupported version) and refuses garbage', () => {
    assert.deepEqual(decodeNatpmpResponse(Uint8Array.of(0, 129, 0, 1, 0, 0, 0, 0)), {
      kind: 'error',
      opcode: 1,
      result: 1,
      epoch: 0,
    });
    for (const bad of [
      Uint8Array.of(0, 128),
      Uint8Array.of(2, 128, 0, 0, 0, 0, 0, 0),
      Uint8Array.of(0, 2, 0, 0, 0, 0, 0, 0),
    ]) {
      assert.throws(
        () => decodeNatpmpResponse(bad),
        (error) => code(error) === 'E_MALFORMED_PACKET',
      );
    }
  });
});

describe('PCP codec', () => {
  it('round-trips a MAP: what we send, a server echoes with the response bit', () => {
    const nonce = Uint8Array.from({ length: 12 }, (_, i) => i + 1);
    const request = encodePcpMap('192.168.77.10', 3600, {
      nonce,
      protocol: 'tcp',
      internalPort: 7001,
      externalPort: 7001,
      externalIp: '0.0.0.0',
    });
    assert.equal(request.length, 60);
    const response = Uint8Array.from(request);
    response[1] = 0x81; // response bit + MAP
    response[3] = 0; // SUCCESS
    response.set([0, 0, 0, 5], 8); // epoch 5 in place of the client address
    response.set([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 203, 0, 113, 1], 44); // assigned external address
    const decoded = decodePcpResponse(response);
    assert.equal(decoded.result, 0);
    assert.equal(decoded.epoch, 5);
    assert.equal(decoded.lifetime, 3600);
    assert.deepEqual(decoded.map && [...decoded.map.nonce], [...nonce]);
    assert.equal(decoded.map?.externalIp, '203.0.113.1');
    assert.equal(decoded.map?.protocol, 'tcp');
  });

  it('an ANNOUNCE is a bare 24-byte header with the client address IPv4-mapped', () => {
    const announce = encodePcpAnnounce('192.168.77.10');
    assert.equal(announce.length, 24);
    assert.deepEqual([...announce.subarray(18, 24)], [0xff, 0xff, 192, 168, 77, 10]);
  });

  it('refuses requests, wrong versions, odd lengths and oversized packets', () => {
    const request = encodePcpAnnounce('192.168.77.10');
    assert.throws(
      () => decodePcpResponse(request),
      (error) => code(error) === 'E_MALFORMED_PACKET',
    );
    assert.throws(
      () => decodePcpResponse(new Uint8Array(23)),
      (error) => code(error) === 'E_MALFORMED_PACKET',
    );
    assert.throws(
      () => decodePcpResponse(new Uint8Array(1104)),
      (error) => code(error) === 'E_MALFORMED_PACKET',
    );
  });
});

describe('SSDP codec', () => {
  it('reads answers with headers in any case and ignores non-answers', () => {
    const answer = decodeSsdpAnswer(
      new TextEncoder().encode(
        'HTTP/1.1 200 OK\r\nlocation: http://192.168.77.1:5000/rootDesc.xml\r\nSt: urn:x\r\nUSN: u\r\n\r\n',
      ),
    );
    assert.equal(answer?.location, 'http://192.168.77.1:5000/rootDesc.xml');
    assert.equal(answer?.searchTarget, 'urn:x');
    assert.equal(decodeSsdpAnswer(new TextEncoder().encode('NOTIFY * HTTP/1.1\r\nLOCATION: x\r\n\r\n')), undefined);
    assert.equal(decodeSsdpAnswer(new Uint8Array(5000)), undefined);
  });

  it('writes an M-SEARCH with MAN quoted and MX', () => {
    const text = new TextDecoder().decode(encodeMSearch('urn:schemas-upnp-org:device:InternetGatewayDevice:1'));
    assert.match(
      text,
      /^M-SEARCH \* HTTP\/1\.1\r\nHOST: 239\.255\.255\.250:1900\r\nMAN: "ssdp:discover"\r\nMX: 1\r\nST: urn:/,
    );
  });
});

describe('IGD description', () => {
  it('miniupnpd 2.3.1 (IGD:2): WANIPConnection:2 with a relative control URL resolved against LOCATION', () => {
    const description = parseIgdDescription(
      fixture('miniupnpd-2.3.1-rootDesc.xml'),
      'http://192.168.77.1:5000/rootDesc.xml',
    );
    assert.deepEqual(description.services, [
      {
        serviceType: 'urn:schemas-upnp-org:service:WANIPConnection:2',
        controlUrl: 'http://192.168.77.1:5000/ctl/IPConn',
      },
    ]);
    assert.equal(description.deviceType, 'urn:schemas-upnp-org:device:InternetGatewayDevice:2');
  });

  it('IGD:1 with URLBase, WANPPPConnection only, whitespace around values', () => {
    const description = parseIgdDescription(
      fixture('igd1-urlbase-wanppp-only.xml'),
      'http://192.168.1.1:49000/igd.xml',
    );
    assert.deepEqual(description.services, [
      {
        serviceType: 'urn:schemas-upnp-org:service:WANPPPConnection:1',
        controlUrl: 'http://192.168.1.1:49000/upnp/control/WANPPPConn1',
      },
    ]);
    assert.equal(description.friendlyName, 'DSL Router');
  });

  it('namespace prefixes on every element and an absolute control URL', () => {
    const description = parseIgdDescription(fixture('odd-namespace-prefixes.xml'), 'http://192.168.1.1:5555/desc.xml');
    assert.equal(description.services[0]?.controlUrl, 'http://192.168.1.1:5555/ctl/ipc');
  });

  it('an entity bomb is refused before parsing', () => {
    assert.throws(
      () => parseIgdDescription(fixture('entity-bomb.xml'), 'http://192.168.1.1/'),
      (error) => code(error) === 'E_XML_REFUSED',
    );
  });

  it('a body over 256 KiB is refused', () => {
    const huge = `<root>${'<x/>'.repeat(70_000)}</root>`;
    assert.throws(
      () => parseIgdDescription(huge, 'http://192.168.1.1/'),
      (error) => code(error) === 'E_XML_REFUSED',
    );
  });
});

describe('SOAP codec', () => {
  it('quotes SOAPAction and escapes arguments', () => {
    assert.equal(soapActionHeader('urn:x:1', 'AddPortMapping'), '"urn:x:1#AddPortMapping"');
    assert.match(
      encodeSoapRequest('urn:x:1', 'AddPortMapping', [['NewPortMappingDescription', 'a<b&c']]),
      /<NewPortMappingDescription>a&lt;b&amp;c<\/NewPortMappingDescription>/,
    );
  });

  it('reads miniupnpd answers and faults', () => {
    assert.deepEqual(decodeSoapResponse(fixture('miniupnpd-2.3.1-GetExternalIPAddress.xml'), 'GetExternalIPAddress'), {
      ok: true,
      values: { NewExternalIPAddress: '203.0.113.1' },
    });
    for (const [file, action, errorCode] of [
      ['miniupnpd-2.3.1-AddPortMapping-718.xml', 'AddPortMapping', 718],
      ['miniupnpd-2.3.1-AddPortMapping-606.xml', 'AddPortMapping', 606],
      ['miniupnpd-2.3.1-GetGenericPortMappingEntry-713.xml', 'GetGenericPortMappingEntry', 713],
      ['miniupnpd-2.3.1-GetSpecificPortMappingEntry-714.xml', 'GetSpecificPortMappingEntry', 714],
      ['soap-725-only-permanent-leases.xml', 'AddPortMapping', 725],
      ['soap-402-invalid-args-on-lease.xml', 'AddPortMapping', 402],
    ] as const) {
      const answer = decodeSoapResponse(fixture(file), action);
      assert.equal(answer.ok, false, file);
      assert.equal(!answer.ok && answer.errorCode, errorCode, file);
    }
    const entry = decodeSoapResponse(
      fixture('miniupnpd-2.3.1-GetGenericPortMappingEntry.xml'),
      'GetGenericPortMappingEntry',
    );
    assert.equal(entry.ok && entry.values.NewExternalPort, '20571');
    const reserved = decodeSoapResponse(fixture('miniupnpd-2.3.1-AddAnyPortMapping.xml'), 'AddAnyPortMapping');
    assert.equal(reserved.ok && reserved.values.NewReservedPort, '20571');
  });

  it('values come back as sent: what the encoder escapes, the decoder resolves (and a control URL with &amp;)', () => {
    const description = 'porthole a<b&c "x" \'y\'';
    const request = encodeSoapRequest('urn:x:1', 'GetSpecificPortMappingEntry', [
      ['NewPortMappingDescription', description],
    ]);
    const answer = request
      .replace('GetSpecificPortMappingEntry>', 'GetSpecificPortMappingEntryResponse>')
      .replaceAll('<u:GetSpecificPortMappingEntry ', '<u:GetSpecificPortMappingEntryResponse ');
    const decoded = decodeSoapResponse(answer, 'GetSpecificPortMappingEntry');
    assert.equal(decoded.ok && decoded.values.NewPortMappingDescription, description);
    const igd = parseIgdDescription(
      '<root><device><serviceList><service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType>' +
        '<controlURL>/ctl/IPConn?a=1&amp;b=&#50;</controlURL></service></serviceList></device></root>',
      'http://192.168.77.1:5000/rootDesc.xml',
    );
    assert.equal(igd.services[0]?.controlUrl, 'http://192.168.77.1:5000/ctl/IPConn?a=1&b=2');
  });
});

describe('gateway address policy', () => {
  const check = (url: string) => gatewayOnly(new URL(url), '192.168.77.1');
  it('accepts the answering gateway by its literal private address', () => {
    assert.equal(check('http://192.168.77.1:5000/rootDesc.xml'), undefined);
  });
  it('refuses names, loopback, public hosts, other LAN hosts and https', () => {
    assert.match(check('http://router.lan:5000/x') ?? '', /a name, not an address/);
    assert.match(check('http://127.0.0.1:5000/x') ?? '', /loopback/);
    assert.match(check('http://198.51.100.7/x') ?? '', /documentation, not a private address/);
    assert.match(check('http://8.8.4.4/x') ?? '', /public, not a private address/);
    assert.match(check('http://192.168.77.99:5000/x') ?? '', /not the gateway that answered/);
    assert.match(check('https://192.168.77.1/x') ?? '', /not http/);
  });
});

describe('keeper timing', () => {
  it('renews at half the lifetime, checks permanent mappings on an interval', () => {
    const mapping = {
      method: 'pcp',
      gateway: 'g',
      protocol: 'tcp',
      internalAddress: 'i',
      internalPort: 1,
      externalPort: 1,
      externalIp: 'e',
      lifetime: 120,
    } as const;
    // Checked within 30 s whatever the lease, so a router restart is noticed in time.
    assert.equal(renewAfterSeconds(mapping), 30);
    assert.equal(renewAfterSeconds({ ...mapping, lifetime: 40 }), 20);
    assert.equal(renewAfterSeconds(mapping, 90), 60);
    assert.equal(renewAfterSeconds({ ...mapping, lifetime: 0 }, 30), 30);
  });
  it('an epoch that went back, or moved much less than the clock, means the router restarted', () => {
    assert.equal(epochShowsRestart(1000, 1060, 60), false);
    assert.equal(epochShowsRestart(1000, 3, 60), true);
    assert.equal(epochShowsRestart(1000, 1010, 60), true);
  });
});
