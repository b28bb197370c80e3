import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  defaultGateways,
  listInterfaces,
  parseBsdRouteGet,
  parseProcNetIpv6Route,
  parseProcNetRoute,
  parseWindowsNetRoute,
} from '../../src/net/localNetwork.js';

// Captured from the lab's LAN namespace (default via 192.168.77.1) plus a second uplink.
const PROC_NET_ROUTE = `Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t00000000\t014DA8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0
eth0\t004DA8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
wlan0\t00000000\t0100000A\t0003\t0\t0\t600\t00000000\t0\t0\t0
down0\t00000000\t0200000A\t0002\t0\t0\t50\t00000000\t0\t0\t0
`;

// Captured on a host with an IPv6 default route via a link-local router.
const PROC_NET_IPV6_ROUTE = `00000000000000000000000000000000 00 00000000000000000000000000000000 00 fe800000000000000000000000000001 00000400 00000001 00000000 00450003 eth0
20010db8000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001 eth0
00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200 lo
`;

describe('default gateway parsers', () => {
  it('reads IPv4 default routes from /proc/net/route, lowest metric first, skipping down routes', () => {
    assert.deepEqual(parseProcNetRoute(PROC_NET_ROUTE), [
      { family: 4, gateway: '192.168.77.1', interface: 'eth0', metric: 0, source: '/proc/net/route' },
      { family: 4, gateway: '10.0.0.1', interface: 'wlan0', metric: 600, source: '/proc/net/route' },
    ]);
  });

  it('reads IPv6 default routes from /proc/net/ipv6_route, ignoring loopback and on-link routes', () => {
    assert.deepEqual(parseProcNetIpv6Route(PROC_NET_IPV6_ROUTE), [
      { family: 6, gateway: 'fe80::1', interface: 'eth0', metric: 1024, source: '/proc/net/ipv6_route' },
    ]);
  });

  it('returns nothing for an empty routing table', () => {
    assert.deepEqual(parseProcNetRoute('Iface\tDestination\n'), []);
    assert.deepEqual(parseProcNetIpv6Route(''), []);
  });

  it('reads macOS route -n get default', () => {
    const text =
      '   route to: default\ndestination: default\n       mask: default\n    gateway: 192.168.1.1\n  interface: en0\n';
    assert.deepEqual(parseBsdRouteGet(text), [
      { family: 4, gateway: '192.168.1.1', interface: 'en0', metric: 0, source: 'route -n get default' },
    ]);
    assert.deepEqual(parseBsdRouteGet('route: writing to routing socket: not in table'), []);
  });

  it('reads Windows Get-NetRoute JSON, single object or array', () => {
    const one = '{"NextHop":"192.168.0.1","InterfaceAlias":"Ethernet","RouteMetric":0}';
    assert.equal(parseWindowsNetRoute(one)[0]?.gateway, '192.168.0.1');
    const two = `[${one},{"NextHop":"0.0.0.0","InterfaceAlias":"vEthernet","RouteMetric":5}]`;
    assert.equal(parseWindowsNetRoute(two).length, 1);
  });
});

describe('local network readers', () => {
  it('lists interfaces with classified addresses, loopback included', () => {
    const loopback = listInterfaces().find((iface) => iface.internal);
    assert.ok(loopback, 'a loopback interface');
    assert.ok(loopback.addresses.some((address) => address.class === 'loopback'));
  });

  it('reads default gateways from the kernel without throwing', async () => {
    const gateways = await defaultGateways();
    for (const gateway of gateways) {
      assert.ok(gateway.gateway.length > 0);
      assert.ok(gateway.interface.length > 0);
    }
  });
});
