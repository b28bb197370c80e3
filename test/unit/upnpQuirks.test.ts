/**
 * UPnP client against a fake IGD on loopback, for wire quirks the lab's miniupnpd does not
 * show: 725 and 402 on leased mappings, 718 across a range, chunked replies, a 10 MB body,
 * a redirect. The strict gateway address policy is relaxed here, and only here, to loopback.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { PortholeError } from '../../src/errors/index.js';
import type { AddressPolicy } from '../../src/gateway/igdHttp.js';
import { igdRequest } from '../../src/gateway/igdHttp.js';
import { createUpnpClient } from '../../src/gateway/upnp.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/igd/${name}`, import.meta.url), 'utf8');
const loopbackForTesting: AddressPolicy = (url) => (url.hostname === '127.0.0.1' ? undefined : 'not loopback');

type Handler = (action: string, body: string, response: ServerResponse) => void;

function soapOk(action: string, fields = ''): string {
  return `<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><u:${action}Response xmlns:u="urn:schemas-upnp-org:service:WANIPConnection:1">${fields}</u:${action}Response></s:Body></s:Envelope>`;
}

describe('UPnP quirks on a fake IGD', () => {
  let server: Server;
  let base: string;
  let handler: Handler = () => {};
  const calls: string[] = [];
  before(async () => {
    server = createServer((request: IncomingMessage, response: ServerResponse) => {
      let body = '';
      request.on('data', (chunk) => {
        body += chunk;
      });
      request.on('end', () => {
        const action = /#(\w+)"/.exec(String(request.headers.soapaction ?? ''))?.[1] ?? request.url ?? '';
        calls.push(
          `${action} ${/<NewLeaseDuration>(\d+)/.exec(body)?.[1] ?? ''} ${/<NewExternalPort>(\d+)/.exec(body)?.[1] ?? ''}`.trim(),
        );
        handler(action, body, response);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => server.close());

  function client() {
    calls.length = 0;
    return createUpnpClient({
      gateway: '127.0.0.1',
      internalAddress: '192.168.1.20',
      service: { serviceType: 'urn:schemas-upnp-org:service:WANIPConnection:1', controlUrl: `${base}/ctl` },
      policy: loopbackForTesting,
    });
  }

  const leaseRefusal = (file: string) => (action: string, body: string, response: ServerResponse) => {
    if (action === 'GetExternalIPAddress')
      return response.end(soapOk(action, '<NewExternalIPAddress>198.51.100.9</NewExternalIPAddress>'));
    if (/<NewLeaseDuration>0</.test(body)) return response.end(soapOk(action));
    response.statusCode = 500;
    response.end(fixture(file));
  };

  for (const file of ['soap-725-only-permanent-leases.xml', 'soap-402-invalid-args-on-lease.xml']) {
    it(`${file}: retries with a permanent lease and reports lifetime 0`, async () => {
      handler = leaseRefusal(file);
      const mapping = await client().map({
        protocol: 'tcp',
        internalPort: 7001,
        lifetimeSeconds: 3600,
        description: 'test',
      });
      assert.equal(mapping.lifetime, 0);
      assert.equal(mapping.externalIp, '198.51.100.9');
      // The lease is read back (an IGD that cannot answer it is believed as asked).
      assert.deepEqual(calls, [
        'GetExternalIPAddress',
        'AddPortMapping 3600 7001',
        'AddPortMapping 0 7001',
        'GetSpecificPortMappingEntry  7001',
      ]);
    });
  }

  it('718 on the first ports of a range: the next free port is granted and the taken ones are said', async () => {
    handler = (action, body, response) => {
      if (action === 'GetExternalIPAddress')
        return response.end(soapOk(action, '<NewExternalIPAddress>198.51.100.9</NewExternalIPAddress>'));
      if (/<NewExternalPort>2057[01]</.test(body)) {
        response.statusCode = 500;
        return response.end(fixture('miniupnpd-2.3.1-AddPortMapping-718.xml'));
      }
      response.end(soapOk(action));
    };
    const mapping = await client().map({
      protocol: 'tcp',
      internalPort: 20570,
      external: { start: 20570, end: 20575 },
      lifetimeSeconds: 60,
      description: 'test',
    });
    assert.equal(mapping.externalPort, 20572);
    assert.deepEqual(
      mapping.skipped?.map((s) => s.port),
      [20570, 20571],
    );
    assert.match(mapping.skipped?.[0]?.why ?? '', /718 ConflictInMappingEntry/);
  });

  it('606 is a coded refusal whose hint names both meanings (its rules, or UPnP set read-only), not a crash', async () => {
    handler = (action, _body, response) => {
      if (action === 'GetExternalIPAddress')
        return response.end(soapOk(action, '<NewExternalIPAddress>198.51.100.9</NewExternalIPAddress>'));
      response.statusCode = 500;
      response.end(fixture('miniupnpd-2.3.1-AddPortMapping-606.xml'));
    };
    await assert.rejects(
      client().map({ protocol: 'tcp', internalPort: 80, lifetimeSeconds: 60, description: 'test' }),
      (error) => {
        return (
          error instanceof PortholeError &&
          error.code === 'E_GATEWAY_REFUSED' &&
          /606/.test(error.message) &&
          /rules do not let this host map that port/.test(error.hint) &&
          /read but not change/.test(error.hint) &&
          error.data?.reason === 'policy'
        );
      },
    );
  });

  it('lists until 713, and reads a chunked reply', async () => {
    let index = 0;
    handler = (_action, _body, response) => {
      if (index++ >= 2) {
        response.statusCode = 500;
        return response.end(fixture('miniupnpd-2.3.1-GetGenericPortMappingEntry-713.xml'));
      }
      // Chunked: several writes with no content-length.
      const text = fixture('miniupnpd-2.3.1-GetGenericPortMappingEntry.xml');
      response.write(text.slice(0, 100));
      response.write(text.slice(100, 300));
      response.end(text.slice(300));
    };
    const entries = await client().list();
    assert.equal(entries.length, 2);
    assert.deepEqual(
      [entries[0]?.externalPort, entries[0]?.internalAddress, entries[0]?.protocol],
      [20571, '192.168.77.10', 'tcp'],
    );
  });

  it('a 10 MB body is cut off at 256 KiB and refused', async () => {
    handler = (_action, _body, response) => {
      response.write('<?xml version="1.0"?><root>');
      const chunk = 'x'.repeat(1024 * 1024);
      for (let i = 0; i < 10; i++) response.write(chunk);
      response.end('</root>');
    };
    await assert.rejects(
      igdRequest(`${base}/big`, '127.0.0.1', { method: 'GET', policy: loopbackForTesting }),
      (error) => {
        return (
          error instanceof PortholeError &&
          error.code === 'E_XML_REFUSED' &&
          /larger than 262144 bytes/.test(error.message)
        );
      },
    );
  });

  it('a redirect is never followed', async () => {
    handler = (_action, _body, response) => {
      response.statusCode = 302;
      response.setHeader('location', 'http://8.8.4.4/evil.xml');
      response.end();
    };
    await assert.rejects(
      igdRequest(`${base}/desc`, '127.0.0.1', { method: 'GET', policy: loopbackForTesting }),
      (error) => {
        return error instanceof PortholeError && error.code === 'E_GATEWAY_URL' && /redirects/.test(error.message);
      },
    );
  });

  it('the default policy refuses a LOCATION on loopback before any request is made', async () => {
    const before = calls.length;
    await assert.rejects(igdRequest(`${base}/desc`, '127.0.0.1', { method: 'GET' }), (error) => {
      return error instanceof PortholeError && error.code === 'E_GATEWAY_URL' && /loopback/.test(error.message);
    });
    assert.equal(calls.length, before);
  });
});
