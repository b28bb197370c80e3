/** The relay's pure codecs: PROXY protocol v1/v2, WebSocket frames and handshake, UDP framing, URLs, known_hosts. */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isPortholeError } from '../../src/errors/index.js';
import { backoffDelay } from '../../src/relay/backoff.js';
import { encodeKnownHostsLine, knownHostsName, knownKeysFor } from '../../src/relay/knownHosts.js';
import {
  decodeProxyHeader,
  encodeProxyV1,
  encodeProxyV2,
  MalformedProxyHeader,
  PROXY_V2_SIGNATURE,
} from '../../src/relay/proxyProtocol.js';
import { parseTenants } from '../../src/relay/tenants.js';
import { ByteBucket } from '../../src/relay/throttle.js';
import { encodeUdpMessage, MalformedUdpFrame, UdpFrameDecoder } from '../../src/relay/udpCodec.js';
import { parseRelayUrl } from '../../src/relay/url.js';
import {
  decodeHttpHead,
  decodeWsFrame,
  encodeWsFrame,
  encodeWsUpgradeRequest,
  MalformedWsFrame,
  upgradeKeyOf,
  wsAcceptFor,
} from '../../src/relay/wsCodec.js';

const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((parts) => parts.join('.'));
const port = fc.integer({ min: 0, max: 65535 });

describe('PROXY protocol codec', () => {
  it('writes the spec example for v1', () => {
    const header = encodeProxyV1({
      sourceAddress: '192.168.0.1',
      destinationAddress: '192.168.0.11',
      sourcePort: 56324,
      destinationPort: 443,
    });
    assert.equal(header.toString(), 'PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n');
  });

  it('round-trips IPv4 connections in v1 and v2', () => {
    fc.assert(
      fc.property(ipv4, ipv4, port, port, (sourceAddress, destinationAddress, sourcePort, destinationPort) => {
        const connection = { sourceAddress, destinationAddress, sourcePort, destinationPort };
        for (const [version, encode] of [
          ['v1', encodeProxyV1],
          ['v2', encodeProxyV2],
        ] as const) {
          const bytes = encode(connection);
          const decoded = decodeProxyHeader(bytes);
          assert.ok(decoded && decoded.header.command === 'proxy');
          assert.equal(decoded.length, bytes.length);
          assert.deepEqual(
            { ...decoded.header, transport: undefined },
            { version, command: 'proxy', ...connection, transport: undefined },
          );
        }
      }),
    );
  });

  it('writes IPv6 (and mapped IPv4 as IPv4) and v2 carries UDP', () => {
    const v2 = encodeProxyV2({
      sourceAddress: '2001:db8::1',
      destinationAddress: '2001:db8::2',
      sourcePort: 1,
      destinationPort: 2,
      transport: 'udp',
    });
    assert.equal(v2.length, 16 + 36);
    assert.equal(v2[13], 0x22);
    const decoded = decodeProxyHeader(v2);
    assert.ok(decoded && decoded.header.command === 'proxy');
    assert.equal(decoded.header.sourceAddress, '2001:db8::1');
    assert.equal(decoded.header.transport, 'udp');
    const mapped = encodeProxyV1({
      sourceAddress: '::ffff:203.0.113.5',
      destinationAddress: '203.0.113.254',
      sourcePort: 5,
      destinationPort: 6,
    });
    assert.equal(mapped.toString(), 'PROXY TCP4 203.0.113.5 203.0.113.254 5 6\r\n');
    assert.equal(
      encodeProxyV1({ sourceAddress: 'x', destinationAddress: 'y', sourcePort: 1, destinationPort: 2 }).toString(),
      'PROXY UNKNOWN\r\n',
    );
  });

  it('waits for more bytes, and refuses what is not a header', () => {
    const full = encodeProxyV2({
      sourceAddress: '1.2.3.4',
      destinationAddress: '5.6.7.8',
      sourcePort: 1,
      destinationPort: 2,
    });
    assert.equal(decodeProxyHeader(full.subarray(0, 20)), undefined);
    assert.equal(decodeProxyHeader(Buffer.from('PROXY TCP4 1.2.3.4')), undefined);
    assert.throws(() => decodeProxyHeader(Buffer.from('GET / HTTP/1.1\r\n')), MalformedProxyHeader);
    assert.throws(() => decodeProxyHeader(Buffer.from(`PROXY ${'x'.repeat(120)}`)), MalformedProxyHeader);
    assert.throws(() => decodeProxyHeader(Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 99999 1\r\n')), MalformedProxyHeader);
    const badVersion = Buffer.concat([PROXY_V2_SIGNATURE, Buffer.from([0x11, 0x11, 0, 0])]);
    assert.throws(() => decodeProxyHeader(badVersion), MalformedProxyHeader);
  });
});

describe('WebSocket codec', () => {
  it('computes the RFC 6455 §1.3 example accept value', () => {
    assert.equal(wsAcceptFor('dGhlIHNhbXBsZSBub25jZQ=='), 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });

  it('round-trips binary frames of every length class, masked and not', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 70_000 }),
        fc.option(fc.uint8Array({ minLength: 4, maxLength: 4 })),
        (payload, mask) => {
          const bytes = encodeWsFrame('binary', payload, mask ?? undefined);
          const decoded = decodeWsFrame(bytes);
          assert.ok(decoded);
          assert.equal(decoded.length, bytes.length);
          assert.equal(decoded.frame.masked, mask !== null);
          assert.deepEqual(new Uint8Array(decoded.frame.payload), payload);
          assert.equal(decodeWsFrame(bytes.subarray(0, bytes.length - 1)), undefined);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('decodes RFC 6455 §5.7 examples', () => {
    const unmasked = decodeWsFrame(Buffer.from([0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]));
    assert.equal(unmasked?.frame.payload.toString(), 'Hello');
    const masked = decodeWsFrame(Buffer.from([0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]));
    assert.equal(masked?.frame.payload.toString(), 'Hello');
    assert.equal(decodeWsFrame(Buffer.from([0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]))?.frame.opcode, 'ping');
  });

  it('refuses reserved bits, unknown opcodes, huge frames and long control frames', () => {
    assert.throws(() => decodeWsFrame(Buffer.from([0xc2, 0x00])), MalformedWsFrame);
    assert.throws(() => decodeWsFrame(Buffer.from([0x83, 0x00])), MalformedWsFrame);
    assert.throws(() => decodeWsFrame(Buffer.from([0x82, 0x7f, 0, 0, 0, 1, 0, 0, 0, 0])), MalformedWsFrame);
    assert.throws(() => decodeWsFrame(Buffer.from([0x89, 0x7e, 0x00, 0x80])), MalformedWsFrame);
  });

  it('reads an upgrade request and rejects a plain GET', () => {
    const request = encodeWsUpgradeRequest('relay:80', 'dGhlIHNhbXBsZSBub25jZQ==');
    const head = decodeHttpHead(Buffer.from(`${request}SSH-2.0-x`));
    assert.ok(head);
    assert.equal(upgradeKeyOf(head), 'dGhlIHNhbXBsZSBub25jZQ==');
    assert.equal(head.length, request.length);
    const plain = decodeHttpHead(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    assert.ok(plain);
    assert.equal(upgradeKeyOf(plain), undefined);
    assert.equal(decodeHttpHead(Buffer.from('GET / HTTP/1.1\r\n')), undefined);
  });
});

describe('UDP channel framing', () => {
  it('round-trips messages split at every byte', () => {
    const messages = [
      { type: 'bind', port: 0 },
      { type: 'bound', port: 20007 },
      { type: 'refused', reason: 'not yours' },
      { type: 'datagram', address: '203.0.113.9', port: 5353, payload: Buffer.from('hello') },
      { type: 'datagram', address: '2001:db8:0:0:0:0:0:9', port: 1, payload: Buffer.alloc(0) },
    ] as const;
    const bytes = Buffer.concat(messages.map((message) => encodeUdpMessage(message)));
    const decoder = new UdpFrameDecoder();
    const decoded = [...bytes].flatMap((byte) => decoder.push(Buffer.from([byte])));
    assert.deepEqual(decoded, messages);
  });

  it('refuses an oversized frame', () => {
    const head = Buffer.alloc(5);
    head.writeUInt32BE(1 << 20);
    assert.throws(() => new UdpFrameDecoder().push(head), MalformedUdpFrame);
  });
});

describe('relay URLs, known_hosts, tenants, backoff', () => {
  it('parses ssh URLs and refuses others with E_RELAY_URL', () => {
    assert.deepEqual(parseRelayUrl('ssh://tenant@relay.example.net:2222'), {
      user: 'tenant',
      host: 'relay.example.net',
      port: 2222,
      display: 'ssh://tenant@relay.example.net:2222',
    });
    assert.equal(parseRelayUrl('ssh://t:s3cret@[2001:db8::1]').token, 's3cret');
    assert.equal(parseRelayUrl('ssh://t:s3cret@[2001:db8::1]').display, 'ssh://t@[2001:db8::1]');
    for (const bad of [
      'relay.example.net',
      'http://u@relay',
      'ssh://relay',
      'ssh://u@relay:99999',
      'ssh://u@relay/x',
    ]) {
      assert.throws(
        () => parseRelayUrl(bad),
        (error) => isPortholeError(error) && error.code === 'E_RELAY_URL',
        bad,
      );
    }
  });

  it('matches plain and hashed known_hosts names', () => {
    assert.equal(knownHostsName('relay', 22), 'relay');
    assert.equal(knownHostsName('relay', 2222), '[relay]:2222');
    const blob = Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), Buffer.alloc(36, 1)]);
    const line = encodeKnownHostsLine('relay', 2222, blob);
    assert.match(line, /^\[relay\]:2222 ssh-ed25519 /);
    assert.deepEqual(knownKeysFor(line, 'relay', 2222).get('ssh-ed25519'), [blob.toString('base64')]);
    assert.equal(knownKeysFor(line, 'relay', 22).size, 0);
    // `ssh-keygen -H` form of "relay" with salt 16 zero bytes.
    const hash = createHmac('sha1', Buffer.alloc(16)).update('relay').digest('base64');
    const line2 = `|1|AAAAAAAAAAAAAAAAAAAAAA==|${hash} ssh-ed25519 AAAA`;
    assert.deepEqual(knownKeysFor(line2, 'relay', 22).get('ssh-ed25519'), ['AAAA']);
  });

  it('validates tenants and lists every problem', () => {
    assert.throws(
      () => parseTenants('tenants:\n  - name: a\n    token: short\n    pool: 1-2\n    colour: red\n'),
      (error) =>
        isPortholeError(error) &&
        error.code === 'E_RELAY_TENANTS' &&
        /at least 16/.test(error.message) &&
        /colour/.test(error.message),
    );
    assert.throws(
      () =>
        parseTenants(
          'tenants:\n  - name: a\n    ports: [70000]\n  - name: a\n    token: 0123456789abcdef\n  - name: c\n    key: nonsense\n    pool: 5-6\n',
        ),
      (error) =>
        isPortholeError(error) &&
        error.code === 'E_RELAY_TENANTS' &&
        /needs a key or a token/.test(error.message) &&
        /used twice/.test(error.message) &&
        /needs ports or a pool/.test(error.message) &&
        /does not parse/.test(error.message) &&
        /70000/.test(error.message),
    );
    const [tenant] = parseTenants(
      'tenants:\n  - name: t\n    token: 0123456789abcdef\n    ports: [20007, "20010-20012"]\n',
    );
    assert.deepEqual(tenant?.pool, [
      { start: 20007, end: 20007 },
      { start: 20010, end: 20012 },
    ]);
  });

  it('paces bytes with a one-second burst', () => {
    let now = 0;
    const bucket = new ByteBucket(1000, () => now);
    assert.equal(bucket.take(1000), 0);
    assert.equal(bucket.take(500), 500);
    now = 1500;
    assert.equal(bucket.take(1000), 0);
    now = 100_000;
    assert.equal(bucket.take(1500), 500, 'idle time never banks more than one second');
  });

  it('backs off from about 1 s to at most 30 s', () => {
    assert.equal(
      backoffDelay(0, () => 0),
      500,
    );
    assert.equal(
      backoffDelay(0, () => 1),
      1000,
    );
    assert.equal(
      backoffDelay(10, () => 1),
      30_000,
    );
    assert.equal(
      backoffDelay(10, () => 0),
      15_000,
    );
  });
});
