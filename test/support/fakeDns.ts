/**
 * A small authoritative DNS server on loopback for unit tests: answers A/AAAA/SOA queries for
 * one zone with the AA bit, applies signed RFC 2136 replace updates, and can be told to
 * misbehave (answer garbage, sign with another key, stay silent). Real servers are in the lab.
 */
import { createSocket, type Socket } from 'node:dgram';
import * as dnsPacket from 'dns-packet';
import { MessageWriter } from '../../src/dns/dnsName.js';
import { signResponse, type TsigKey, tsigOf } from '../../src/dns/tsig.js';
import { addressOf, CLASS, decodeMessage, TYPE } from '../../src/dns/updateCodec.js';

/** How the fake answers updates. */
export type FakeMode = 'normal' | 'malformed' | 'forged' | 'silent' | 'refused';

/** A running fake server. */
export interface FakeDns {
  readonly port: number;
  /** name → type → addresses. */
  readonly records: Map<string, Map<string, string[]>>;
  /** Updates received. */
  updates: number;
  mode: FakeMode;
  /** Names whose updates are refused (REFUSED, nothing applied), like a per-name update policy. */
  readonly refuseNames: Set<string>;
  close(): Promise<void>;
}

function updateResponse(request: Buffer, rcode: number): Buffer {
  const decoded = decodeMessage(request);
  const w = new MessageWriter();
  w.u16(decoded.id);
  w.u16(0x8000 | (5 << 11) | rcode);
  w.u16(1);
  w.u16(0);
  w.u16(0);
  w.u16(0);
  w.name(decoded.questions[0]?.name ?? '');
  w.u16(TYPE.SOA);
  w.u16(CLASS.IN);
  return w.finish();
}

/** Starts the fake on 127.0.0.1, authoritative for `zone`, accepting updates signed with `key`. */
export async function startFakeDns(zone: string, key: TsigKey): Promise<FakeDns> {
  const socket: Socket = createSocket('udp4');
  const fake: FakeDns = {
    port: 0,
    records: new Map(),
    updates: 0,
    mode: 'normal',
    refuseNames: new Set(),
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
  socket.on('message', (message, remote) => {
    const send = (bytes: Buffer) => socket.send(bytes, remote.port, remote.address);
    const opcode = (message.readUInt16BE(2) >> 11) & 0xf;
    if (opcode === 5) {
      fake.updates++;
      if (fake.mode === 'silent') return;
      if (fake.mode === 'malformed') {
        send(Buffer.concat([message.subarray(0, 2), Buffer.from([0x80, 0, 0, 9, 0xff])]));
        return;
      }
      const decoded = decodeMessage(message);
      const tsig = tsigOf(message, decoded);
      const refused = fake.mode === 'refused' || decoded.authorities.some((c) => fake.refuseNames.has(c.name));
      if (!refused && fake.mode === 'normal') {
        for (const change of decoded.authorities) {
          const type = change.type === TYPE.A ? 'A' : 'AAAA';
          const byType = fake.records.get(change.name) ?? new Map<string, string[]>();
          fake.records.set(change.name, byType);
          if (change.klass === CLASS.ANY) byType.set(type, []);
          else byType.set(type, [...(byType.get(type) ?? []), addressOf(change.rdata)]);
        }
      }
      const signingKey = fake.mode === 'forged' ? { ...key, secret: Buffer.alloc(32, 7) } : key;
      const rcode = refused ? 5 : 0;
      send(
        signResponse(updateResponse(message, rcode), signingKey, tsig?.mac ?? Buffer.alloc(0), {
          timeSigned: Date.now() / 1000,
        }),
      );
      return;
    }
    const query = dnsPacket.decode(message);
    const question = query.questions?.[0];
    if (!question) return;
    const name = question.name.toLowerCase();
    const inZone = name === zone || name.endsWith(`.${zone}`);
    const addresses = fake.records.get(name)?.get(question.type) ?? [];
    send(
      dnsPacket.encode({
        type: 'response',
        id: query.id ?? 0,
        flags: (inZone ? dnsPacket.AUTHORITATIVE_ANSWER : 0) | (inZone ? 0 : 5),
        questions: [question],
        answers: addresses.map((data) => ({ type: question.type as 'A', name, ttl: 60, data })),
        authorities: inZone
          ? [
              {
                type: 'SOA',
                name: zone,
                ttl: 60,
                data: {
                  mname: `ns.${zone}`,
                  rname: `h.${zone}`,
                  serial: 1,
                  refresh: 1,
                  retry: 1,
                  expire: 1,
                  minimum: 1,
                },
              },
            ]
          : [],
      }),
    );
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return Object.assign(fake, { port: socket.address().port });
}
