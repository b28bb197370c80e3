/**
 * The client end of UDP over the relay: asks porthole's relay for a public UDP port on the
 * `porthole-udp@porthole` subsystem, and keeps one local UDP socket per visitor (a flow), so
 * the local server's answers go back to the visitor who asked. Idle flows expire.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import type { Client, ClientChannel } from 'ssh2';
import { PortholeError } from '../errors/index.js';
import { encodeUdpMessage, UDP_SUBSYSTEM, UdpFrameDecoder } from './udpCodec.js';

/** A flow with no datagram either way for this long is closed (NAT-like; games resend well within it). */
export const UDP_FLOW_IDLE_MS = 60_000;
/** At most this many flows at once: each holds a local socket. */
const MAX_FLOWS = 1024;
/** The relay must answer BIND within this. */
const BIND_DEADLINE_MS = 5000;

/** A public UDP port on the relay, forwarded to the local server. */
export interface UdpForward {
  readonly port: number;
  /** Visitors with a live flow. */
  flows(): number;
  close(): void;
}

interface Flow {
  readonly socket: UdpSocket;
  last: number;
}

/** Opens the UDP subsystem and binds `port` (0 = any); E_RELAY_UDP_UNSUPPORTED when the relay cannot. */
export function openUdpForward(
  client: Client,
  port: number,
  localHost: string,
  localPort: number,
): Promise<UdpForward> {
  return new Promise((resolve, reject) => {
    client.subsys(UDP_SUBSYSTEM, (error, channel: ClientChannel) => {
      if (error) {
        reject(
          new PortholeError('E_RELAY_UDP_UNSUPPORTED', {
            detail: `the relay refused the ${UDP_SUBSYSTEM} subsystem (${error.message}); a plain sshd carries TCP only`,
            cause: error,
          }),
        );
        return;
      }
      const decoder = new UdpFrameDecoder();
      const flows = new Map<string, Flow>();
      let bound: number | undefined;
      const closeFlow = (key: string) => {
        flows.get(key)?.socket.close();
        flows.delete(key);
      };
      const sweep = setInterval(() => {
        const now = Date.now();
        for (const [key, flow] of flows) if (now - flow.last > UDP_FLOW_IDLE_MS) closeFlow(key);
      }, UDP_FLOW_IDLE_MS / 4);
      sweep.unref();
      const bindTimer = setTimeout(() => {
        fail(new PortholeError('E_RELAY_UDP_UNSUPPORTED', { detail: 'the relay did not answer the UDP bind' }));
      }, BIND_DEADLINE_MS);
      const close = () => {
        clearInterval(sweep);
        clearTimeout(bindTimer);
        for (const key of [...flows.keys()]) closeFlow(key);
        channel.destroy();
      };
      const fail = (failure: PortholeError) => {
        close();
        if (bound === undefined) reject(failure);
      };
      channel.on('close', close);
      channel.on('error', close);
      channel.on('data', (chunk: Buffer) => {
        let messages: ReturnType<UdpFrameDecoder['push']>;
        try {
          messages = decoder.push(chunk);
        } catch {
          close();
          return;
        }
        for (const message of messages) {
          if (message.type === 'bound' && bound === undefined) {
            clearTimeout(bindTimer);
            bound = message.port;
            resolve({ port: message.port, flows: () => flows.size, close });
          } else if (message.type === 'refused') {
            fail(new PortholeError('E_RELAY_UDP_UNSUPPORTED', { detail: `the relay refused UDP: ${message.reason}` }));
          } else if (message.type === 'datagram') {
            const key = `${message.address}|${message.port}`;
            let flow = flows.get(key);
            if (!flow) {
              if (flows.size >= MAX_FLOWS) continue; // Dropped, like a full NAT table.
              const socket = createSocket(localHost.includes(':') ? 'udp6' : 'udp4');
              const visitor = { address: message.address, port: message.port };
              socket.on('error', () => closeFlow(key));
              socket.on('message', (payload) => {
                const live = flows.get(key);
                if (live) live.last = Date.now();
                channel.write(encodeUdpMessage({ type: 'datagram', ...visitor, payload }));
              });
              flow = { socket, last: Date.now() };
              flows.set(key, flow);
            }
            flow.last = Date.now();
            flow.socket.send(message.payload, localPort, localHost);
          }
        }
      });
      channel.write(encodeUdpMessage({ type: 'bind', port }));
    });
  });
}
