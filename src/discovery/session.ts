/**
 * One socket on one interface and family, speaking all three protocols at once: it sends
 * each probe three times (multicast loses packets), follows DNS-SD from PTR to addresses and
 * WS-Discovery matches without XAddrs to a Resolve, and hands every answer it can decode to
 * `onAnswer`. A datagram that does not decode is a warning, never a crash.
 */
import { randomUUID } from 'node:crypto';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { DnsSdRecords, resolveServices } from './dnssd.js';
import type { SocketPlan } from './interfaces.js';
import {
  decodeMdnsMessage,
  encodeMdnsQuery,
  MDNS_ADDRESS,
  MDNS_ADDRESS_V6,
  MDNS_PORT,
  type MdnsQuestion,
  SERVICES_META,
} from './mdnsCodec.js';
import {
  decodeSsdpMessage,
  encodeSsdpSearch,
  locationEndpoint,
  SSDP_ADDRESS,
  SSDP_ADDRESS_V6,
  SSDP_ALL,
  SSDP_PORT,
} from './ssdpCodec.js';
import type { DiscoveryAnswer, DiscoveryProtocol, ProbeTarget } from './types.js';
import {
  decodeWsdMessage,
  encodeWsdProbe,
  encodeWsdResolve,
  WSD_ADDRESS,
  WSD_ADDRESS_V6,
  WSD_PORT,
} from './wsdCodec.js';

/** What one session asks, per protocol. */
export interface SessionQuery {
  readonly protocols: readonly DiscoveryProtocol[];
  /** SSDP search targets (default ssdp:all). */
  readonly ssdpTypes: readonly string[];
  /** DNS-SD service types (`_http._tcp`); empty browses every type. */
  readonly mdnsTypes: readonly string[];
  /** WS-Discovery types as QNames (`dn:NetworkVideoTransmitter`). */
  readonly wsdTypes: readonly string[];
  /** Unicast destinations instead of the groups (tests on loopback). */
  readonly targets?: Partial<Record<DiscoveryProtocol, ProbeTarget>>;
}

/** Sends of each probe and when (ms after start): three, since multicast loses packets. */
export const PROBE_SCHEDULE_MS: readonly number[] = [0, 100, 250];
/** A DNS-SD follow-up question is asked at most this often per socket. */
const MAX_ASKS = 3;
/** The largest datagram read: anything longer is truncated by the kernel and refused by a codec. */
const RECEIVE_BUFFER_BYTES = 64 * 1024;

function groupOf(protocol: DiscoveryProtocol, family: 4 | 6, iface: string): ProbeTarget {
  const v6 = (address: string) => `${address}%${iface}`;
  switch (protocol) {
    case 'ssdp':
      return { address: family === 4 ? SSDP_ADDRESS : v6(SSDP_ADDRESS_V6), port: SSDP_PORT };
    case 'mdns':
      return { address: family === 4 ? MDNS_ADDRESS : v6(MDNS_ADDRESS_V6), port: MDNS_PORT };
    case 'wsd':
      return { address: family === 4 ? WSD_ADDRESS : v6(WSD_ADDRESS_V6), port: WSD_PORT };
  }
}

/** Which protocol a datagram speaks, by its first bytes (devices answer from any port). */
export function sniffProtocol(bytes: Uint8Array): DiscoveryProtocol {
  const head = new TextDecoder('latin1').decode(bytes.subarray(0, 16)).replace(/^\uFEFF|^\s+/, '');
  if (/^(HTTP\/|NOTIFY |M-SEARCH )/i.test(head)) return 'ssdp';
  if (head.startsWith('<')) return 'wsd';
  return 'mdns';
}

function hostOf(address: string): string {
  return address.includes(':') ? `[${address}]` : address;
}

/** What a session reports. */
export interface SessionEvents {
  /** A decoded answer (the caller de-duplicates). */
  readonly answer: (answer: DiscoveryAnswer) => void;
  /** A datagram refused, or a socket error. */
  readonly warning: (warning: string) => void;
  /** A follow-up went out (DNS-SD's next step, a WS-Discovery Resolve): an answer is on its way. */
  readonly activity: () => void;
}

/** A running session; `close()` is its one cleanup path. */
export interface Session {
  /** Devices that said they are here (a ProbeMatch) whose address a Resolve still waits for. */
  pending(): number;
  close(): void;
}

/** Opens a session's socket and starts probing. */
export function startSession(plan: SocketPlan, query: SessionQuery, events: SessionEvents): Session {
  const onAnswer = events.answer;
  const onWarning = events.warning;
  const socket: Socket = createSocket({
    type: plan.family === 4 ? 'udp4' : 'udp6',
    recvBufferSize: RECEIVE_BUFFER_BYTES,
  });
  const timers = new Set<NodeJS.Timeout>();
  const targetOf = (protocol: DiscoveryProtocol) =>
    query.targets?.[protocol] ?? groupOf(protocol, plan.family, plan.interface);
  const wants = (protocol: DiscoveryProtocol) => query.protocols.includes(protocol);
  const heard = new DnsSdRecords();
  const asked = new Map<string, number>();
  const wsdProbes = new Map(query.wsdTypes.map((type) => [`urn:uuid:${randomUUID()}`, type]));
  const resolving = new Map<string, string>();
  const resolvedEndpoints = new Set<string>();
  let closed = false;

  const send = (protocol: DiscoveryProtocol, bytes: Uint8Array) => {
    if (closed) return;
    const target = targetOf(protocol);
    socket.send(bytes, target.port, target.address, (error) => {
      if (error)
        onWarning(`${plan.interface}/IPv${plan.family}: sending ${protocol} to ${target.address}: ${error.message}`);
    });
  };
  const later = (ms: number, action: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      action();
    }, ms);
    timers.add(timer);
  };

  const askMdns = (questions: readonly MdnsQuestion[], unicastResponse: boolean) => {
    const fresh = questions.filter((q) => (asked.get(`${q.type} ${q.name}`) ?? 0) < MAX_ASKS);
    if (fresh.length === 0) return false;
    for (const q of fresh) asked.set(`${q.type} ${q.name}`, (asked.get(`${q.type} ${q.name}`) ?? 0) + 1);
    send('mdns', encodeMdnsQuery(fresh, { unicastResponse }));
    return true;
  };
  const mdnsFirst: MdnsQuestion[] =
    query.mdnsTypes.length > 0
      ? query.mdnsTypes.map((type) => ({ name: `${type}.local`, type: 'PTR' }))
      : [{ name: SERVICES_META, type: 'PTR' }];

  const probe = (round: number) => {
    if (wants('ssdp'))
      for (const st of query.ssdpTypes)
        send('ssdp', encodeSsdpSearch(st, targetOf('ssdp').address.split('%')[0], targetOf('ssdp').port));
    if (wants('mdns')) {
      // RFC 6762 5.4: the first query asks for unicast answers (QU), repeats for multicast ones.
      asked.clear();
      askMdns(mdnsFirst, round === 0);
      askMdns(resolveServices(heard, query.mdnsTypes).missing, round === 0);
    }
    if (wants('wsd')) for (const [id, type] of wsdProbes) send('wsd', encodeWsdProbe(type, id));
  };

  const emitMdns = (from: string) => {
    const { instances, missing } = resolveServices(heard, query.mdnsTypes);
    for (const instance of instances) {
      onAnswer({
        protocol: 'mdns',
        name: instance.name,
        type: instance.type,
        address: instance.address,
        port: instance.port,
        interface: plan.interface,
        from,
        details: { host: instance.host, txt: instance.txt, fullName: instance.fullName },
      });
    }
    if (askMdns(missing, true)) events.activity();
  };

  const onMessage = (message: Buffer, remote: RemoteInfo) => {
    const from = `${hostOf(remote.address)}:${remote.port}`;
    const protocol = sniffProtocol(message);
    if (!wants(protocol)) return;
    try {
      if (protocol === 'ssdp') {
        const decoded = decodeSsdpMessage(message);
        if (decoded.kind === 'search' || decoded.kind === 'byebye') return;
        const location = decoded.headers.get('location') ?? '';
        const type = decoded.headers.get(decoded.kind === 'answer' ? 'st' : 'nt') ?? '';
        if (!query.ssdpTypes.includes(SSDP_ALL) && !query.ssdpTypes.includes(type)) return;
        const endpoint = locationEndpoint(location);
        onAnswer({
          protocol: 'ssdp',
          name: decoded.headers.get('usn') ?? '',
          type,
          address: endpoint?.address ?? remote.address,
          port: endpoint?.port ?? null,
          interface: plan.interface,
          from,
          details: { location, server: decoded.headers.get('server') ?? '' },
        });
      } else if (protocol === 'wsd') {
        const decoded = decodeWsdMessage(message);
        if (decoded.kind !== 'probe-matches' && decoded.kind !== 'resolve-matches') return;
        // Only answers to our own probes and resolves count; others' traffic is not ours to report.
        if (!wsdProbes.has(decoded.relatesTo) && !resolving.has(decoded.relatesTo)) return;
        for (const match of decoded.matches) {
          const [xaddr] = match.xaddrs;
          if (!xaddr) {
            // wsdd's ProbeMatch names no XAddrs; a Resolve asks for them (WS-Discovery 5.3).
            if (![...resolving.values()].includes(match.endpoint)) {
              const id = `urn:uuid:${randomUUID()}`;
              resolving.set(id, match.endpoint);
              const resolve = encodeWsdResolve(match.endpoint, id);
              for (const at of PROBE_SCHEDULE_MS.slice(0, 2)) later(at, () => send('wsd', resolve));
              events.activity();
            }
            continue;
          }
          const endpoint = locationEndpoint(xaddr);
          resolvedEndpoints.add(match.endpoint);
          onAnswer({
            protocol: 'wsd',
            name: match.endpoint,
            type: match.types.join(' '),
            address: endpoint?.address ?? remote.address,
            port: endpoint?.port ?? null,
            interface: plan.interface,
            from,
            details: { xaddrs: match.xaddrs, scopes: match.scopes },
          });
        }
      } else {
        const decoded = decodeMdnsMessage(message);
        if (!decoded.response) return;
        heard.add(decoded.records);
        emitMdns(from);
      }
    } catch (error) {
      onWarning(
        `${plan.interface}: ignored a ${message.length}-byte datagram from ${from}: ${(error as Error).message}`,
      );
    }
  };

  socket.on('message', onMessage);
  socket.on('error', (error) => onWarning(`${plan.interface}/IPv${plan.family}: ${error.message}`));
  socket.bind({ address: plan.bindAddress, port: 0, exclusive: true }, () => {
    if (closed) return;
    const multicast = (['ssdp', 'mdns', 'wsd'] as const).some((p) => wants(p) && !query.targets?.[p]);
    if (multicast) {
      try {
        socket.setMulticastInterface(plan.family === 4 ? plan.bindAddress : `::%${plan.interface}`);
        // RFC 6762 11: mDNS is sent with TTL 255; SSDP's UDA asks for a small TTL, and link-local
        // groups never cross a router whatever the TTL, so one value serves all three.
        socket.setMulticastTTL(255);
        // Looped back, so responders on this very host (the doctor's own server) hear us too.
        socket.setMulticastLoopback(true);
      } catch (error) {
        onWarning(`${plan.interface}/IPv${plan.family}: ${(error as Error).message}`);
      }
    }
    for (const [round, at] of PROBE_SCHEDULE_MS.entries()) later(at, () => probe(round));
  });
  return {
    pending() {
      return new Set([...resolving.values()].filter((endpoint) => !resolvedEndpoints.has(endpoint))).size;
    },
    close() {
      if (closed) return;
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      socket.removeAllListeners('message');
      try {
        socket.close();
      } catch {
        // The bind failed (already reported as a warning): there is no socket left to close.
      }
    },
  };
}
