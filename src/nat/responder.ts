/**
 * porthole's STUN responder (`porthole serve --stun-port`): Binding only. With two addresses it
 * does RFC 5780: four sockets (two addresses x two ports), OTHER-ADDRESS and RESPONSE-ORIGIN in
 * every answer, and CHANGE-REQUEST answered from the socket it asks for. Undecodable datagrams
 * are dropped silently; requests with a body (STUN's only amplification lever) are not answered.
 */
import { createSocket, type Socket } from 'node:dgram';
import {
  BINDING_REQUEST,
  BINDING_SUCCESS,
  decodeStunMessage,
  encodeStunMessage,
  type StunAddress,
} from './stunCodec.js';

/** Where the responder listens. */
export interface StunResponderOptions {
  readonly primary: string;
  /** A second address of this host: enables RFC 5780. */
  readonly alternate?: string;
  readonly port: number;
  /** The other port for RFC 5780 (default port + 1). */
  readonly alternatePort?: number;
}

/** A running responder. */
export interface StunResponder {
  readonly addresses: readonly StunAddress[];
  readonly answered: () => number;
  close(): void;
}

/** A Binding request carries at most a few attributes; a larger one is not answered. */
const MAX_REQUEST_BYTES = 128;
const SOFTWARE = 'porthole';

function bind(address: string, port: number): Promise<Socket> {
  const socket = createSocket(address.includes(':') ? 'udp6' : 'udp4');
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, address, () => {
      socket.off('error', reject);
      socket.on('error', () => {});
      resolve(socket);
    });
  });
}

/** Starts the responder; every socket it opened is closed again if one fails to bind. */
export async function startStunResponder(options: StunResponderOptions): Promise<StunResponder> {
  const altPort = options.alternatePort ?? options.port + 1;
  const ips = options.alternate ? [options.primary, options.alternate] : [options.primary];
  const ports = options.alternate ? [options.port, altPort] : [options.port];
  const sockets = new Map<string, Socket>();
  const key = (ip: string, port: number) => `${ip}|${port}`;
  try {
    for (const ip of ips) for (const port of ports) sockets.set(key(ip, port), await bind(ip, port));
  } catch (error) {
    for (const socket of sockets.values()) socket.close();
    throw error;
  }
  let answered = 0;
  const other = options.alternate ? { address: options.alternate, port: altPort } : undefined;
  for (const ip of ips) {
    for (const port of ports) {
      const socket = sockets.get(key(ip, port)) as Socket;
      socket.on('message', (bytes, remote) => {
        if (bytes.length > MAX_REQUEST_BYTES) return;
        let request: ReturnType<typeof decodeStunMessage>;
        try {
          request = decodeStunMessage(bytes);
        } catch {
          return;
        }
        if (request.type !== BINDING_REQUEST) return;
        const change = request.changeRequest;
        // RFC 5780 section 6.1: answer from the other address and/or port when asked and able.
        const fromIp = change?.changeIp && options.alternate ? (ips.find((candidate) => candidate !== ip) ?? ip) : ip;
        const fromPort =
          change?.changePort && options.alternate ? (ports.find((candidate) => candidate !== port) ?? port) : port;
        const sender = sockets.get(key(fromIp, fromPort)) as Socket;
        const client = { address: remote.address, port: remote.port };
        const response = encodeStunMessage({
          type: BINDING_SUCCESS,
          transactionId: request.transactionId,
          xorMappedAddress: client,
          mappedAddress: client,
          responseOrigin: { address: fromIp, port: fromPort },
          ...(other ? { otherAddress: other } : {}),
          software: SOFTWARE,
        });
        answered++;
        sender.send(response, remote.port, remote.address);
      });
    }
  }
  return {
    addresses: ips.flatMap((address) => ports.map((port) => ({ address, port }))),
    answered: () => answered,
    close: () => {
      for (const socket of sockets.values()) socket.close();
    },
  };
}
