import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PortholeError } from '../../src/errors/index.js';
import {
  type AddressClass,
  cidrContains,
  classifyAddress,
  formatIp,
  isPublicUnicast,
  parseCidr,
  parseCidrList,
  parseIp,
  unmapIpv4,
} from '../../src/net/address.js';

const CASES: ReadonlyArray<[string, AddressClass]> = [
  ['8.8.4.4', 'public'],
  ['1.0.0.0', 'public'],
  ['100.63.255.255', 'public'],
  ['100.64.0.0', 'cgnat'],
  ['100.127.255.255', 'cgnat'],
  ['100.128.0.0', 'public'],
  ['10.0.0.1', 'private'],
  ['172.15.255.255', 'public'],
  ['172.16.0.1', 'private'],
  ['172.31.255.255', 'private'],
  ['172.32.0.0', 'public'],
  ['192.168.1.1', 'private'],
  ['127.0.0.1', 'loopback'],
  ['127.255.255.254', 'loopback'],
  ['169.254.10.10', 'link-local'],
  ['192.0.2.7', 'documentation'],
  ['198.51.100.7', 'documentation'],
  ['203.0.113.7', 'documentation'],
  ['198.18.0.1', 'reserved'],
  ['0.0.0.0', 'unspecified'],
  ['0.1.2.3', 'reserved'],
  ['240.0.0.1', 'reserved'],
  ['255.255.255.255', 'reserved'],
  ['224.0.0.251', 'multicast'],
  ['239.255.255.250', 'multicast'],
  ['2606:4700::1111', 'public'],
  ['2001:db8::1', 'documentation'],
  ['3fff::1', 'documentation'],
  ['fd00::2', 'private'],
  ['fe80::1', 'link-local'],
  ['fe80::1%eth0', 'link-local'],
  ['ff02::fb', 'multicast'],
  ['::1', 'loopback'],
  ['::', 'unspecified'],
  ['2001::1', 'reserved'],
  ['4000::1', 'reserved'],
  ['::ffff:192.168.1.10', 'private'],
  ['::ffff:100.64.1.1', 'cgnat'],
  ['::ffff:8.8.4.4', 'public'],
  ['::ffff:127.0.0.1', 'loopback'],
  ['[2001:db8::5]', 'documentation'],
];

describe('classifyAddress', () => {
  for (const [address, expected] of CASES) {
    it(`${address} is ${expected}`, () => assert.equal(classifyAddress(address), expected));
  }

  it('only public addresses are public unicast', () => {
    assert.equal(isPublicUnicast('8.8.4.4'), true);
    assert.equal(isPublicUnicast('100.64.0.1'), false);
    assert.equal(isPublicUnicast('::ffff:10.1.1.1'), false);
  });
});

describe('parseIp and formatIp', () => {
  it('round-trips IPv4 and canonical IPv6', () => {
    for (const text of ['192.168.77.10', '2001:db8::1', '::', '::1', 'fe80::1:2:3:4', '2001:db8:0:1:1:1:1:1', '1::']) {
      assert.equal(formatIp(parseIp(text)), text);
    }
  });

  it('canonicalises IPv6 per RFC 5952', () => {
    assert.equal(formatIp(parseIp('2001:0db8:0000:0000:0000:0000:0000:0001')), '2001:db8::1');
    assert.equal(formatIp(parseIp('2001:db8:0:0:1:0:0:1')), '2001:db8::1:0:0:1');
    assert.equal(formatIp(parseIp('::ffff:192.0.2.1')), '::ffff:c000:201');
  });

  it('unmaps IPv4-mapped IPv6', () => {
    const inner = unmapIpv4(parseIp('::ffff:203.0.113.9'));
    assert.ok(inner);
    assert.equal(formatIp(inner), '203.0.113.9');
    assert.equal(unmapIpv4(parseIp('2001:db8::1')), undefined);
    assert.equal(unmapIpv4(parseIp('1.2.3.4')), undefined);
  });

  it('refuses non-addresses with E_ADDRESS', () => {
    for (const bad of ['', 'example.com', '1.2.3', '1.2.3.256', '01.2.3.4', ':::1', '1.2.3.4/24']) {
      assert.throws(
        () => parseIp(bad),
        (error: unknown) => error instanceof PortholeError && error.code === 'E_ADDRESS',
        bad,
      );
    }
  });
});

describe('CIDR ranges', () => {
  it('tests membership for IPv4 and IPv6', () => {
    const lab = parseCidr('203.0.113.0/24');
    assert.equal(cidrContains(lab, parseIp('203.0.113.254')), true);
    assert.equal(cidrContains(lab, parseIp('203.0.114.1')), false);
    assert.equal(cidrContains(parseCidr('100.64.0.0/10'), parseIp('100.127.0.1')), true);
    assert.equal(cidrContains(parseCidr('100.64.0.0/10'), parseIp('100.128.0.1')), false);
    assert.equal(cidrContains(parseCidr('2001:db8::/32'), parseIp('2001:db8:ffff::1')), true);
    assert.equal(cidrContains(parseCidr('2001:db8::/32'), parseIp('2001:db9::1')), false);
    assert.equal(cidrContains(parseCidr('0.0.0.0/0'), parseIp('9.9.9.9')), true);
  });

  it('matches IPv4-mapped callers against IPv4 ranges', () => {
    assert.equal(cidrContains(parseCidr('203.0.113.0/24'), parseIp('::ffff:203.0.113.5')), true);
    assert.equal(cidrContains(parseCidr('203.0.113.0/24'), parseIp('2001:db8::1')), false);
  });

  it('treats a bare address as a host range', () => {
    const host = parseCidr('192.168.77.10');
    assert.equal(host.prefix, 32);
    assert.equal(cidrContains(host, parseIp('192.168.77.11')), false);
  });

  it('parses lists and refuses bad ranges with E_CIDR', () => {
    assert.equal(parseCidrList('203.0.113.0/24, 100.64.0.0/10,').length, 2);
    assert.deepEqual(parseCidrList(''), []);
    for (const bad of ['10.0.0.0/33', '::/129', 'host/24', '10.0.0.0/x', '10.0.0.0/8/8']) {
      assert.throws(
        () => parseCidr(bad),
        (error: unknown) => error instanceof PortholeError && error.code === 'E_CIDR',
        bad,
      );
    }
  });
});
