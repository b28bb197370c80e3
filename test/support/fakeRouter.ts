/**
 * A home router on loopback, no root needed: NAT-PMP and PCP on one UDP port (as 5351 is on a
 * real router), SSDP on another, and the UPnP IGD description and SOAP control over HTTP. It
 * keeps one table of mappings for all three protocols, as miniupnpd does, and misbehaves on cue:
 * answers late, twice, from the wrong address or port, not at all, with a given result or UPnP
 * error code; it reboots (epoch back to 0, mappings gone) and changes its external address.
 * Modelled on Tailscale's portmapper TestIGD. Every socket is bound to 127.0.0.1 (the wrong
 * source answers from 127.0.0.2, which Linux routes on loopback too).
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WanService } from '../../src/gateway/igdDescription.js';
import { formatIp, type IpAddress, unmapIpv4 } from '../../src/net/address.js';
import type { Transport } from '../../src/net/portSpec.js';
import {
  encodeIgdDescription,
  encodeNatpmpExternalAddressResponse,
  encodeNatpmpMapResponse,
  encodeNatpmpShortError,
  encodePcpResponse,
  encodeSoapAnswer,
  encodeSoapFault,
  encodeSsdpAnswer,
} from './routerWire.js';

/** Which of the router's voices a fault applies to. */
export type FakeProtocol = 'natpmp' | 'pcp' | 'ssdp' | 'upnp';

/** A misbehaviour, cued per protocol until cleared. */
export type Fault =
  /** Answer after `ms` (the request is still served, once per request received). */
  | { readonly kind: 'late'; readonly ms: number }
  /** Send every answer twice. */
  | { readonly kind: 'twice' }
  /** Answer from another address (127.0.0.2) or another port, and not from the right one. */
  | { readonly kind: 'wrong-source'; readonly from: 'address' | 'port' }
  /** Answer nothing. */
  | { readonly kind: 'silent' }
  /** Send undecodable bytes first, then the real answer. */
  | { readonly kind: 'garbage-first' }
  /** NAT-PMP or PCP: answer every request with this result code (and no mapping). */
  | { readonly kind: 'result'; readonly result: number }
  /** UPnP: answer `action` (every action when absent) with this UPnP error code, `times` times (always when absent). */
  | { readonly kind: 'upnp-error'; readonly code: number; readonly action?: string; times?: number }
  /** UPnP: make every mapping for this client instead of the one asked (a broken IGD), as GetSpecific then says. */
  | { readonly kind: 'other-client'; readonly client: string };

/** One mapping in the router's table. */
export interface FakeMapping {
  readonly method: 'natpmp' | 'pcp' | 'upnp';
  readonly protocol: Transport;
  readonly externalPort: number;
  readonly internalAddress: string;
  readonly internalPort: number;
  readonly description: string;
  /** Lease in seconds, 0 = permanent (UPnP). */
  readonly lifetime: number;
  readonly expiresAt: number;
  readonly nonce?: string;
}

/** What the router was asked, in order, for assertions. */
export interface FakeRequest {
  readonly protocol: FakeProtocol;
  readonly what: string;
  /** The asker's UDP port: each discovery round sends from a socket of its own. */
  readonly from?: number;
}

/** Options for the fake router. */
export interface FakeRouterOptions {
  readonly externalIp?: string;
  /** Which protocols answer at all (all three by default). */
  readonly speaks?: { readonly natpmp?: boolean; readonly pcp?: boolean; readonly upnp?: boolean };
  /** Longest lease granted (seconds). */
  readonly maxLifetime?: number;
  /** Seconds the router has been up at start: epochs begin here, so a reboot shows as a drop. */
  readonly uptimeSeconds?: number;
  /** The WAN service offered over UPnP. */
  readonly serviceType?: WanService['serviceType'];
  /** The host SSDP's LOCATION names (default 127.0.0.1): a router that names itself (`router.lan`). */
  readonly locationHost?: string;
}

/**
 * Permission rules, as miniupnpd's allow/deny lines: which external ports this router lets its
 * client map. Without PREFER_FAILURE, a NAT-PMP or PCP request for a port they deny makes the
 * router step to the next port they allow (miniupnpd's loop), and each such request is counted
 * as a `search`: on miniupnpd it is the request that leaves the router deaf while it searches.
 */
export type Permits = (externalPort: number) => boolean;

/** The running fake router. */
export interface FakeRouter {
  readonly address: string;
  /** NAT-PMP and PCP, one port as on a real router. */
  readonly natpmpPort: number;
  readonly ssdpPort: number;
  /** The IGD description's URL (what SSDP's LOCATION says). */
  readonly location: string;
  readonly service: WanService;
  readonly requests: FakeRequest[];
  /**
   * How many discovery rounds asked this router: the distinct sockets that sent a PCP ANNOUNCE
   * or an SSDP M-SEARCH (only discovery sends those; a round resends from the same socket).
   */
  discoveryRounds(): number;
  /** Current mappings (expired ones dropped). */
  mappings(): FakeMapping[];
  /** Seconds since the last boot, plus the initial uptime before the first reboot. */
  epoch(): number;
  externalIp(): string;
  /** Another LAN host takes an external port (for conflicts and ranges). */
  occupy(protocol: Transport, externalPort: number, host?: string): void;
  cue(protocol: FakeProtocol, fault: Fault | undefined): void;
  /** Sets the permission rules (undefined: every port allowed). */
  permit(rules: Permits | undefined): void;
  /** How many NAT-PMP/PCP requests for a denied port came without PREFER_FAILURE (each a search on miniupnpd). */
  searches(): number;
  /** Caps every lease it grants (NAT-PMP, PCP and UPnP alike), as routers clamp leases. */
  clampLifetime(seconds: number): void;
  /** A periodic clean-up: every mapping goes, the router runs on (its epoch does not restart). */
  dropMappings(): void;
  /** Forget every mapping and restart the epoch at 0, as a power cycle does. */
  reboot(): void;
  /** The ISP hands out a new address; mappings stay (they are on the router). */
  changeExternalIp(address: string): void;
  /**
   * What a router sends after a restart or an address change (a PCP ANNOUNCE and a NAT-PMP
   * external address, RFC 6887 §14.1.3, RFC 6886 §3.2.1), from its NAT-PMP/PCP port to
   * 127.0.0.1:`port` (the real ones go to 224.0.0.1:5350).
   */
  announce(port: number): Promise<void>;
  close(): Promise<void>;
}

const RESULT_NOT_AUTHORIZED = 2;
/** UPnP's "no such entry" for DeletePortMapping and GetSpecificPortMappingEntry. */
const NO_SUCH_ENTRY = 714;

function readPcpAddress(bytes: Uint8Array): string {
  const address: IpAddress = { family: 6, bytes: Uint8Array.from(bytes.subarray(0, 16)) };
  return formatIp(unmapIpv4(address) ?? address);
}

function bindUdp(address: string, port = 0): Promise<UdpSocket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.once('error', reject);
    socket.bind(port, address, () => {
      socket.off('error', reject);
      socket.on('error', () => {});
      resolve(socket);
    });
  });
}

/** Starts a fake router on 127.0.0.1 (every port chosen by the kernel). */
export async function startFakeRouter(options: FakeRouterOptions = {}): Promise<FakeRouter> {
  const address = '127.0.0.1';
  const speaks = { natpmp: true, pcp: true, upnp: true, ...options.speaks };
  let maxLifetime = options.maxLifetime ?? 7200;
  let permits: Permits | undefined;
  let searches = 0;
  const serviceType: WanService['serviceType'] =
    options.serviceType ?? 'urn:schemas-upnp-org:service:WANIPConnection:2';
  let external = options.externalIp ?? '203.0.113.7';
  let bootedAt = performance.now();
  let uptime = options.uptimeSeconds ?? 1000;
  const table = new Map<string, FakeMapping>();
  const occupied = new Map<string, string>();
  const faults = new Map<FakeProtocol, Fault>();
  const requests: FakeRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();

  const key = (protocol: Transport, port: number) => `${protocol}/${port}`;
  const epoch = () => uptime + Math.floor((performance.now() - bootedAt) / 1000);
  const live = () => {
    const now = performance.now();
    for (const [k, m] of table) if (m.lifetime > 0 && m.expiresAt < now) table.delete(k);
    return table;
  };
  const holder = (protocol: Transport, port: number) =>
    occupied.get(key(protocol, port)) ?? live().get(key(protocol, port))?.internalAddress;
  const allowed = (port: number) => permits?.(port) ?? true;
  const freePortFrom = (protocol: Transport, start: number, client: string, internalPort?: number) => {
    for (let port = start, tries = 0; tries < 65535; tries++, port = port >= 65535 ? 1024 : port + 1) {
      if (!allowed(port)) continue;
      const owner = holder(protocol, port);
      const entry = live().get(key(protocol, port));
      // Free, or this client's own mapping of the same internal port (miniupnpd compares both).
      const own = owner === client && (internalPort === undefined || !entry || entry.internalPort === internalPort);
      if (owner === undefined || own) return port;
    }
    return 0;
  };

  const udp = await bindUdp(address);
  const ssdp = await bindUdp(address);
  // The router's other address answers from the same port, as a real one answers from 5351.
  const wrongAddress = await bindUdp('127.0.0.2', udp.address().port);
  const wrongPort = await bindUdp(address);

  /** Sends an answer as the cued fault for `protocol` says. */
  function answer(
    protocol: FakeProtocol,
    socket: UdpSocket,
    bytes: Uint8Array,
    to: { address: string; port: number },
  ): void {
    const fault = faults.get(protocol);
    const send = (from: UdpSocket, payload: Uint8Array) => from.send(payload, to.port, to.address, () => {});
    switch (fault?.kind) {
      case 'silent':
        return;
      case 'late': {
        const timer = setTimeout(() => {
          timers.delete(timer);
          send(socket, bytes);
        }, fault.ms);
        timers.add(timer);
        return;
      }
      case 'twice':
        send(socket, bytes);
        send(socket, bytes);
        return;
      case 'wrong-source':
        send(fault.from === 'address' ? wrongAddress : wrongPort, bytes);
        return;
      case 'garbage-first':
        send(socket, Uint8Array.of(0, 0x99, 0xde, 0xad));
        send(socket, bytes);
        return;
      default:
        send(socket, bytes);
    }
  }

  function natpmp(message: Buffer, client: string): Uint8Array | undefined {
    const opcode = message[1] ?? 0;
    const forced = faults.get('natpmp');
    if (!speaks.natpmp) {
      // A PCP-only server answers a version 0 request with PCP's UNSUPP_VERSION (RFC 6887 section 9).
      return speaks.pcp ? encodePcpResponse({ opcode, result: 1, lifetime: 0, epoch: epoch() }) : undefined;
    }
    if (opcode === 0) {
      requests.push({ protocol: 'natpmp', what: 'external-address' });
      const result = forced?.kind === 'result' ? forced.result : 0;
      return encodeNatpmpExternalAddressResponse(result, epoch(), result === 0 ? external : '0.0.0.0');
    }
    if ((opcode !== 1 && opcode !== 2) || message.length < 12) return encodeNatpmpShortError(opcode, 5, epoch());
    const protocol: Transport = opcode === 1 ? 'udp' : 'tcp';
    const internalPort = message.readUInt16BE(4);
    const suggested = message.readUInt16BE(6);
    const lifetime = message.readUInt32BE(8);
    requests.push({ protocol: 'natpmp', what: `map ${internalPort}/${protocol} ${suggested} ${lifetime}` });
    const reply = (result: number, externalPort: number, granted: number) =>
      encodeNatpmpMapResponse({ protocol, result, epoch: epoch(), internalPort, externalPort, lifetime: granted });
    if (forced?.kind === 'result') return reply(forced.result, 0, 0);
    const mine = [...live().values()].find(
      (m) => m.protocol === protocol && m.internalPort === internalPort && m.internalAddress === client,
    );
    if (lifetime === 0) {
      // RFC 6886 section 3.4: delete this client's mapping of the internal port.
      if (mine) table.delete(key(protocol, mine.externalPort));
      return reply(0, 0, 0);
    }
    const granted = Math.min(lifetime, maxLifetime);
    if (!mine && !allowed(suggested || internalPort)) searches++;
    const externalPort = mine?.externalPort ?? freePortFrom(protocol, suggested || internalPort, client, internalPort);
    // miniupnpd: every port denied is NOT_AUTHORIZED (2), every allowed one taken OUT_OF_RESOURCES (4).
    if (externalPort === 0) return reply(permits ? 2 : 4, 0, 0);
    table.set(key(protocol, externalPort), {
      method: 'natpmp',
      protocol,
      externalPort,
      internalAddress: client,
      internalPort,
      description: '',
      lifetime: granted,
      expiresAt: performance.now() + granted * 1000,
    });
    return reply(0, externalPort, granted);
  }

  function pcp(message: Buffer, from: number): Uint8Array | undefined {
    const opcode = (message[1] ?? 0) & 0x7f;
    if (!speaks.pcp) {
      // A NAT-PMP-only server answers version 2 with NAT-PMP "unsupported version" (RFC 6887 section 9).
      return speaks.natpmp ? encodeNatpmpShortError(opcode, 1, epoch()) : undefined;
    }
    if (message.length < 24) return undefined;
    const lifetime = message.readUInt32BE(4);
    const client = readPcpAddress(message.subarray(8, 24));
    const forced = faults.get('pcp');
    if (opcode === 0) {
      requests.push({ protocol: 'pcp', what: 'announce', from });
      return encodePcpResponse({
        opcode,
        result: forced?.kind === 'result' ? forced.result : 0,
        lifetime: 0,
        epoch: epoch(),
      });
    }
    if (opcode !== 1 || message.length < 60)
      return encodePcpResponse({ opcode, result: 4, lifetime: 0, epoch: epoch() });
    const nonce = Uint8Array.from(message.subarray(24, 36));
    const nonceHex = Buffer.from(nonce).toString('hex');
    const protocol: Transport = message[36] === 17 ? 'udp' : 'tcp';
    const internalPort = message.readUInt16BE(40);
    const suggested = message.readUInt16BE(42);
    requests.push({ protocol: 'pcp', what: `map ${internalPort}/${protocol} ${suggested} ${lifetime}` });
    const reply = (result: number, externalPort: number, granted: number) =>
      encodePcpResponse({
        opcode,
        result,
        lifetime: granted,
        epoch: epoch(),
        map: { nonce, protocol, internalPort, externalPort, externalIp: result === 0 ? external : '0.0.0.0' },
      });
    if (forced?.kind === 'result') return reply(forced.result, 0, 0);
    const mine = [...live().values()].find(
      (m) => m.protocol === protocol && m.internalPort === internalPort && m.internalAddress === client,
    );
    // RFC 6887 section 11.3: a mapping belongs to its nonce; another nonce may not touch it.
    if (mine && mine.method === 'pcp' && mine.nonce !== nonceHex) return reply(RESULT_NOT_AUTHORIZED, 0, 0);
    if (lifetime === 0) {
      if (mine) table.delete(key(protocol, mine.externalPort));
      return reply(0, suggested, 0);
    }
    const granted = Math.min(lifetime, maxLifetime);
    // PREFER_FAILURE (option 2 after the MAP body): the suggested port, or CANNOT_PROVIDE_EXTERNAL.
    const preferFailure = message.length >= 64 && message[60] === 2;
    const wanted = suggested || internalPort;
    const wantedFree = allowed(wanted) && [undefined, client].includes(holder(protocol, wanted));
    if (!mine && preferFailure && !wantedFree) return reply(11, 0, 0);
    if (!mine && !allowed(wanted)) searches++;
    const externalPort = mine?.externalPort ?? freePortFrom(protocol, wanted, client, internalPort);
    if (externalPort === 0) return reply(permits ? 2 : 8, 0, 0);
    table.set(key(protocol, externalPort), {
      method: 'pcp',
      protocol,
      externalPort,
      internalAddress: client,
      internalPort,
      description: '',
      lifetime: granted,
      expiresAt: performance.now() + granted * 1000,
      nonce: nonceHex,
    });
    return reply(0, externalPort, granted);
  }

  udp.on('message', (message, remote) => {
    const reply =
      message[0] === 0 ? natpmp(message, remote.address) : message[0] === 2 ? pcp(message, remote.port) : undefined;
    if (reply) answer(message[0] === 0 ? 'natpmp' : 'pcp', udp, reply, remote);
  });

  const http: Server = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => {
      body += chunk;
    });
    request.on('end', () => serveHttp(request, body, response));
  });
  await new Promise<void>((resolve) => http.listen(0, address, resolve));
  const httpPort = (http.address() as AddressInfo).port;
  const location = `http://${options.locationHost ?? address}:${httpPort}/rootDesc.xml`;
  const controlPath = '/ctl/IPConn';

  ssdp.on('message', (message, remote) => {
    const text = message.toString('latin1');
    if (!speaks.upnp || !text.startsWith('M-SEARCH')) return;
    const target = /^ST:\s*(.+?)\r?$/im.exec(text)?.[1] ?? '';
    requests.push({ protocol: 'ssdp', what: target, from: remote.port });
    const bytes = Buffer.from(
      encodeSsdpAnswer({
        location,
        searchTarget: target,
        usn: `uuid:fake-router::${target}`,
        server: 'Linux/6 UPnP/1.1 porthole-fake-router/1',
      }),
      'latin1',
    );
    answer('ssdp', ssdp, bytes, remote);
  });

  function serveHttp(request: IncomingMessage, body: string, response: ServerResponse): undefined {
    const fault = faults.get('upnp');
    if (fault?.kind === 'silent') {
      request.socket.destroy();
      return;
    }
    const reply = (status: number, xml: string): undefined => {
      const send = () => {
        response.statusCode = status;
        response.setHeader('content-type', 'text/xml; charset="utf-8"');
        response.end(xml);
      };
      if (fault?.kind === 'late') {
        const timer = setTimeout(() => {
          timers.delete(timer);
          send();
        }, fault.ms);
        timers.add(timer);
      } else send();
      return undefined;
    };
    if (request.method === 'GET' && request.url === '/rootDesc.xml') {
      return reply(
        200,
        encodeIgdDescription({
          friendlyName: 'porthole fake router',
          deviceType: `urn:schemas-upnp-org:device:InternetGatewayDevice:${serviceType.endsWith(':2') ? 2 : 1}`,
          services: [{ serviceType, controlUrl: controlPath }],
        }),
      );
    }
    if (request.method !== 'POST' || request.url !== controlPath) return reply(404, '');
    const action = /#(\w+)"?$/.exec(String(request.headers.soapaction ?? ''))?.[1] ?? '';
    const args = Object.fromEntries([...body.matchAll(/<(New\w+)>([^<]*)<\/\1>/g)].map((m) => [m[1], m[2] ?? '']));
    requests.push({
      protocol: 'upnp',
      what: `${action} ${args.NewExternalPort ?? ''} ${args.NewLeaseDuration ?? ''}`.trim(),
    });
    const fail = (code: number, description: string): undefined => reply(500, encodeSoapFault(code, description));
    if (fault?.kind === 'upnp-error' && (fault.action === undefined || fault.action === action)) {
      if (fault.times === undefined || fault.times-- > 0) return fail(fault.code, `fault ${fault.code} on cue`);
    }
    const ok = (values: ReadonlyArray<readonly [string, string | number]> = []): undefined =>
      reply(200, encodeSoapAnswer(serviceType, action, values));
    const protocol: Transport = (args.NewProtocol ?? '').toLowerCase() === 'udp' ? 'udp' : 'tcp';
    const externalPort = Number(args.NewExternalPort ?? 0);
    const entryValues = (m: FakeMapping) =>
      [
        ['NewRemoteHost', ''],
        ['NewExternalPort', m.externalPort],
        ['NewProtocol', m.protocol.toUpperCase()],
        ['NewInternalPort', m.internalPort],
        ['NewInternalClient', m.internalAddress],
        ['NewEnabled', 1],
        ['NewPortMappingDescription', m.description],
        ['NewLeaseDuration', m.lifetime === 0 ? 0 : Math.max(0, Math.round((m.expiresAt - performance.now()) / 1000))],
      ] as const;
    switch (action) {
      case 'GetExternalIPAddress':
        return ok([['NewExternalIPAddress', external]]);
      case 'AddPortMapping':
      case 'AddAnyPortMapping': {
        const client = fault?.kind === 'other-client' ? fault.client : (args.NewInternalClient ?? '');
        const asked = Number(args.NewLeaseDuration ?? 0);
        // A clamp: a permanent lease asked becomes the router's longest, as IGD:2 lets a router do.
        const lease = asked === 0 && maxLifetime < 7200 ? maxLifetime : Math.min(asked, maxLifetime);
        if (!allowed(externalPort)) return fail(606, 'Action not authorized');
        let port = externalPort;
        const owner = holder(protocol, port);
        if (owner !== undefined && owner !== client) {
          if (action === 'AddPortMapping') return fail(718, 'ConflictInMappingEntry');
          port = freePortFrom(protocol, port, client);
        }
        table.set(key(protocol, port), {
          method: 'upnp',
          protocol,
          externalPort: port,
          internalAddress: client,
          internalPort: Number(args.NewInternalPort ?? 0),
          description: args.NewPortMappingDescription ?? '',
          lifetime: lease,
          expiresAt: performance.now() + lease * 1000,
        });
        return action === 'AddAnyPortMapping' ? ok([['NewReservedPort', port]]) : ok();
      }
      case 'DeletePortMapping':
        if (!live().delete(key(protocol, externalPort))) return fail(NO_SUCH_ENTRY, 'NoSuchEntryInArray');
        return ok();
      case 'GetSpecificPortMappingEntry': {
        const other = occupied.get(key(protocol, externalPort));
        const found =
          live().get(key(protocol, externalPort)) ??
          (other === undefined
            ? undefined
            : {
                method: 'upnp' as const,
                protocol,
                externalPort,
                internalAddress: other,
                internalPort: externalPort,
                description: 'another host',
                lifetime: 0,
                expiresAt: 0,
              });
        if (!found) return fail(NO_SUCH_ENTRY, 'NoSuchEntryInArray');
        return ok(
          entryValues(found).filter(([name]) => !['NewRemoteHost', 'NewExternalPort', 'NewProtocol'].includes(name)),
        );
      }
      case 'GetGenericPortMappingEntry': {
        const found = [...live().values()][Number(args.NewPortMappingIndex ?? 0)];
        if (!found) return fail(713, 'SpecifiedArrayIndexInvalid');
        return ok(entryValues(found));
      }
      default:
        return fail(401, 'Invalid Action');
    }
  }

  return {
    address,
    natpmpPort: udp.address().port,
    ssdpPort: ssdp.address().port,
    location,
    service: { serviceType, controlUrl: `http://${address}:${httpPort}${controlPath}` },
    requests,
    discoveryRounds: () =>
      new Set(
        requests
          .filter((r) => r.from !== undefined && (r.what === 'announce' || r.protocol === 'ssdp'))
          .map((r) => r.from),
      ).size,
    mappings: () => [...live().values()],
    epoch,
    externalIp: () => external,
    occupy(protocol, externalPort, host = '192.168.1.99') {
      occupied.set(key(protocol, externalPort), host);
    },
    cue(protocol, fault) {
      if (fault) faults.set(protocol, fault);
      else faults.delete(protocol);
    },
    permit(rules) {
      permits = rules;
    },
    searches: () => searches,
    clampLifetime(seconds) {
      maxLifetime = seconds;
    },
    dropMappings() {
      table.clear();
    },
    reboot() {
      table.clear();
      bootedAt = performance.now();
      uptime = 0;
    },
    changeExternalIp(next) {
      external = next;
    },
    async announce(port) {
      const messages = [
        encodePcpResponse({ opcode: 0, result: 0, lifetime: 0, epoch: epoch() }),
        encodeNatpmpExternalAddressResponse(0, epoch(), external),
      ];
      for (const message of messages)
        await new Promise<void>((resolve) => udp.send(message, port, '127.0.0.1', () => resolve()));
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      for (const socket of [udp, ssdp, wrongAddress, wrongPort]) socket.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
