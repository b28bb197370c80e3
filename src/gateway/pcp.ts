/**
 * The PCP (RFC 6887) client: MAP with a nonce that must come back, renewal with the same
 * nonce, deletion with lifetime 0. A server that answers in NAT-PMP ("unsupported version")
 * is reported as such, so the caller falls back to NAT-PMP.
 */
import { randomBytes, randomInt } from 'node:crypto';
import type { AbortOptions } from '../deadline/index.js';
import { PortholeError } from '../errors/index.js';
import {
  candidatePorts,
  FIRST_UNPRIVILEGED_PORT,
  involvesLowPort,
  LOW_PORT_EXCHANGE,
  portSatisfies,
  renewalRequest,
} from './candidates.js';
import { createMadeMappings } from './madeMappings.js';
import { NATPMP_PORT } from './natpmp.js';
import { decodePcpResponse, encodePcpMap, PCP_OP_MAP, PCP_RESULTS, type PcpResponse } from './pcpCodec.js';
import { gatewayRefusal, policyRefusal, rangeExhausted } from './refusal.js';
import type { Mapping, MappingClient, MappingEntry, MappingRequest } from './types.js';
import { type ExchangeOptions, udpExchange } from './udpExchange.js';

/** Options for a PCP client. */
export interface PcpClientOptions {
  readonly gateway: string;
  /** This host's address toward the gateway (PCP carries it in every request). */
  readonly internalAddress: string;
  readonly port?: number;
  readonly exchange?: Omit<ExchangeOptions, 'signal'>;
}

/** "Any address": lets the server choose the external address. */
const ANY_V4 = '0.0.0.0';
/** For an IPv6 client the suggestion is the IPv6 "any" (RFC 6887 section 11.1): a pinhole, no translation. */
const ANY_V6 = '::';

/** PCP results that mean the router has no public address: NETWORK_FAILURE. */
const NO_PUBLIC_ADDRESS = new Set([7]);
const NOT_AUTHORIZED = 2;
const UNSUPP_OPTION = 5;
/** With PREFER_FAILURE: that port is not to be had (taken, or not allowed: PCP says the same for both). */
const CANNOT_PROVIDE_EXTERNAL = 11;

function refused(result: number, what: string) {
  if (result === 1) {
    return gatewayRefusal('pcp', what, 'UNSUPP_VERSION (the server speaks NAT-PMP only)', result, {
      data: { natpmpOnly: true },
    });
  }
  return gatewayRefusal('pcp', what, PCP_RESULTS[result] ?? `result ${result}`, result, {
    noPublicAddress: NO_PUBLIC_ADDRESS.has(result),
  });
}

/** A PCP client for one gateway; it remembers the mappings (and nonces) it made. */
export function createPcpClient(options: PcpClientOptions): MappingClient & { lastEpoch(): number | undefined } {
  const port = options.port ?? NATPMP_PORT;
  const made = createMadeMappings('PCP');
  let epoch: number | undefined;
  /** Whether the server knows PREFER_FAILURE (undefined until it has answered one). */
  let preferFailure: boolean | undefined;

  async function send(
    lifetime: number,
    nonce: Uint8Array,
    request: MappingRequest,
    externalPort: number,
    signalOptions: AbortOptions,
    preferFailure = false,
  ): Promise<PcpResponse> {
    const packet = encodePcpMap(
      options.internalAddress,
      lifetime,
      {
        nonce,
        protocol: request.protocol,
        internalPort: request.internalPort,
        externalPort,
        externalIp: options.internalAddress.includes(':') ? ANY_V6 : ANY_V4,
      },
      { preferFailure },
    );
    // With PREFER_FAILURE a refused port is answered at once: no search, no need to ask only once.
    const lowPort = !preferFailure && involvesLowPort({ ...request, external: externalPort });
    const answer = await udpExchange(
      options.gateway,
      port,
      packet,
      (message) => {
        // A NAT-PMP-only server answers version 2 with a NAT-PMP "unsupported version".
        if (message[0] === 0 && message.length >= 4 && message.readUInt16BE(2) === 1)
          return { opcode: PCP_OP_MAP, result: 1, lifetime: 0, epoch: 0 };
        const decoded = decodePcpResponse(message);
        if (decoded.opcode !== PCP_OP_MAP) return undefined;
        // The nonce must come back: an answer for someone else's request is not ours.
        if (decoded.map && !Buffer.from(decoded.map.nonce).equals(Buffer.from(nonce))) return undefined;
        return decoded;
      },
      { ...options.exchange, ...(lowPort ? LOW_PORT_EXCHANGE : {}), ...signalOptions },
    );
    if (!answer)
      throw new PortholeError('E_GATEWAY_UNREACHABLE', {
        detail: `no PCP answer from ${options.gateway}:${port}${lowPort ? ' (asked once: a router may stall on a port below 1024 it refuses)' : ''}`,
      });
    epoch = answer.epoch;
    return answer;
  }

  /**
   * Asks for one external port with PREFER_FAILURE where the server knows it: a port it will not
   * give is refused at once. Without it, miniupnpd answers a port its rules deny by searching the
   * whole port space for one they allow, deaf to every client meanwhile (107-220 s in the lab, its
   * log at debug level; a plain natpmpc does the same), and a host its rules deny entirely gets
   * that search on every request.
   */
  async function ask(
    lifetime: number,
    nonce: Uint8Array,
    request: MappingRequest,
    externalPort: number,
    signalOptions: AbortOptions,
  ): Promise<PcpResponse> {
    const ipv4 = !options.internalAddress.includes(':');
    if (ipv4 && preferFailure !== false) {
      const answer = await send(lifetime, nonce, request, externalPort, signalOptions, true);
      // UNSUPP_OPTION: a server without PREFER_FAILURE (RFC 6887 lets it refuse the option).
      if (answer.result !== UNSUPP_OPTION) {
        preferFailure = true;
        return answer;
      }
      preferFailure = false;
    }
    return send(lifetime, nonce, request, externalPort, signalOptions);
  }

  /**
   * Whether this host may map any port at all: a port from the dynamic range asked with
   * PREFER_FAILURE, deleted at once when granted. Only asked after a refusal, to tell "this port"
   * from "this host".
   */
  async function hostAllowed(protocol: MappingRequest['protocol'], signalOptions: AbortOptions): Promise<boolean> {
    const probePort = 49152 + randomInt(16384);
    const nonce = randomBytes(12);
    const probe = { protocol, internalPort: probePort, lifetimeSeconds: 30, description: 'porthole probe' };
    const answer = await ask(30, nonce, probe, probePort, signalOptions);
    if (answer.result !== 0) return answer.result !== CANNOT_PROVIDE_EXTERNAL && answer.result !== NOT_AUTHORIZED;
    await send(0, nonce, probe, answer.map?.externalPort ?? probePort, signalOptions).catch(() => undefined);
    return true;
  }

  async function map(
    request: MappingRequest,
    signalOptions: AbortOptions = {},
    reuseNonce?: Uint8Array,
    /** Let the router choose another port when the ones asked are refused (a renewal, or no port asked). */
    allowOther = request.external === undefined,
  ): Promise<Mapping> {
    const skipped: { port: number; why: string }[] = [];
    const asked = request.nonce ? Buffer.from(request.nonce, 'hex') : undefined;
    const nonce = reuseNonce ?? (asked?.length === 12 ? asked : randomBytes(12));
    const granted = (answer: PcpResponse & { map: NonNullable<PcpResponse['map']> }): Mapping => {
      const mapping: Mapping = {
        method: 'pcp',
        ...(options.internalAddress.includes(':') ? { family: 6 as const } : {}),
        gateway: options.gateway,
        protocol: request.protocol,
        internalAddress: options.internalAddress,
        internalPort: answer.map.internalPort,
        externalPort: answer.map.externalPort,
        externalIp: answer.map.externalIp,
        lifetime: answer.lifetime,
        ...(answer.lifetime !== request.lifetimeSeconds && request.lifetimeSeconds > 0
          ? { asked: { lifetime: request.lifetimeSeconds } }
          : {}),
        nonce: Buffer.from(nonce).toString('hex'),
        epoch: answer.epoch,
        description: request.description,
        ...(skipped.length > 0 ? { skipped } : {}),
      };
      made.remember(mapping);
      return mapping;
    };
    const refusedPorts: number[] = [];
    for (const candidate of candidatePorts(request)) {
      const answer = await ask(request.lifetimeSeconds, nonce, request, candidate, signalOptions);
      if (answer.result === CANNOT_PROVIDE_EXTERNAL && preferFailure) {
        refusedPorts.push(candidate);
        skipped.push({ port: candidate, why: 'refused (taken by another host, or not allowed by its rules)' });
        continue;
      }
      if (answer.result !== 0 || !answer.map)
        throw refused(answer.result, `map ${request.internalPort}/${request.protocol}`);
      if (!portSatisfies(request, answer.map.externalPort)) {
        await send(0, nonce, request, answer.map.externalPort, signalOptions).catch(() => undefined);
        skipped.push({ port: candidate, why: `taken (the router offered ${answer.map.externalPort})` });
        continue;
      }
      if (answer.map.externalPort !== candidate)
        skipped.push({
          port: candidate,
          // miniupnpd 2.3.1 checks a port in use before it looks at PREFER_FAILURE (pcpserver.c):
          // it steps to another port although asked not to.
          why: `not given (the router chose ${answer.map.externalPort}${preferFailure ? ', although asked with PREFER_FAILURE' : ''})`,
        });
      return granted({ ...answer, map: answer.map });
    }
    if (refusedPorts.length === 0) throw rangeExhausted(skipped);
    // Every port asked was refused: this port, or this host? One dynamic port tells them apart.
    const ports = refusedPorts.join(', ');
    if (!(await hostAllowed(request.protocol, signalOptions)))
      throw policyRefusal(
        options.internalAddress,
        [
          `PCP refused ${request.protocol} ${ports} and a port from the dynamic range alike (CANNOT_PROVIDE_EXTERNAL, asked with PREFER_FAILURE)`,
        ],
        { method: 'pcp', result: CANNOT_PROVIDE_EXTERNAL, skipped },
      );
    const internalLow = request.internalPort < FIRST_UNPRIVILEGED_PORT;
    if (allowOther && !internalLow) {
      // The host may map: without PREFER_FAILURE the router steps to the next port its rules allow.
      const answer = await send(request.lifetimeSeconds, nonce, request, refusedPorts[0] ?? 0, signalOptions);
      if (answer.result === 0 && answer.map) {
        const last = skipped.at(-1);
        if (last)
          skipped[skipped.length - 1] = {
            port: last.port,
            why: `${last.why}; the router chose ${answer.map.externalPort}`,
          };
        return granted({ ...answer, map: answer.map });
      }
      throw refused(answer.result, `map ${request.internalPort}/${request.protocol}`);
    }
    throw new PortholeError('E_MAPPING_CONFLICT', {
      detail: `PCP: the router will not give ${request.protocol} ${ports}: another host holds ${refusedPorts.length === 1 ? 'it' : 'them'}, or its rules do not allow ${refusedPorts.length === 1 ? 'that port' : 'those ports'} for this host (PCP answers CANNOT_PROVIDE_EXTERNAL for both)`,
      hint: "Map another external port (`--external PORT`, or a range), or see who holds it with `porthole mappings`; if no one does, allow the port for this host in the router's UPnP / PCP rules.",
      data: { method: 'pcp', result: CANNOT_PROVIDE_EXTERNAL, reason: 'taken', skipped },
    });
  }

  return {
    method: 'pcp',
    gateway: options.gateway,
    lastEpoch: () => epoch,
    map: (request, signalOptions) => map(request, signalOptions),
    async externalIp(signalOptions = {}) {
      // PCP has no "external address" request: map a throw-away port briefly and delete it.
      // The port is from the dynamic range: routers commonly deny low ports, and miniupnpd
      // spins on a denied PCP request instead of answering (seen in the lab with port 9).
      const internalPort = 49152 + randomInt(16384);
      const probe = { protocol: 'udp' as const, internalPort, lifetimeSeconds: 30, description: 'porthole probe' };
      const mapping = await map(probe, signalOptions);
      await this.unmap(mapping, signalOptions).catch(() => undefined);
      return mapping.externalIp;
    },
    async renew(mapping, signalOptions = {}) {
      // RFC 6887 section 11.2.1: a renewal is the same MAP, with the same nonce.
      const nonce = mapping.nonce ? Buffer.from(mapping.nonce, 'hex') : undefined;
      if (mapping.family === 6 && nonce?.length === 12) {
        // miniupnpd 2.3.1 (nftables) renews an IPv6 pinhole in place but drops its description,
        // where it keeps the nonce ("pinhole-1 ts-2080: " in the rule's userdata, seen in the
        // lab), and then refuses to delete it (NOT_AUTHORIZED): no one could ever remove it. So
        // an IPv6 pinhole is renewed by deleting it and opening it again with the same nonce;
        // established connections outlive the instant in between (the firewall is stateful).
        const request = { ...renewalRequest(mapping), lifetimeSeconds: 0 };
        await send(0, nonce, request, mapping.externalPort, signalOptions).catch(() => undefined);
      }
      // A renewal takes another port when its own was given away meanwhile (the router forgot it).
      const renewed = await map(renewalRequest(mapping), signalOptions, nonce, true);
      return { ...renewed, externalIp: renewed.externalIp || mapping.externalIp };
    },
    async unmap(mapping, signalOptions = {}) {
      const nonce = mapping.nonce ? Buffer.from(mapping.nonce, 'hex') : undefined;
      if (nonce?.length !== 12)
        throw new PortholeError('E_GATEWAY_REFUSED', { detail: 'a PCP mapping can only be deleted with its nonce' });
      const request = {
        protocol: mapping.protocol,
        internalPort: mapping.internalPort,
        lifetimeSeconds: 0,
        description: '',
      };
      const answer = await send(0, nonce, request, mapping.externalPort, signalOptions);
      if (answer.result !== 0) throw refused(answer.result, `delete ${mapping.internalPort}/${mapping.protocol}`);
      made.forget(mapping);
    },
    async list(): Promise<MappingEntry[]> {
      return made.entries();
    },
  };
}

/** Renews a PCP mapping with its own nonce (RFC 6887 section 11.2.1). */
export function pcpRenewRequest(mapping: Mapping): MappingRequest {
  return {
    protocol: mapping.protocol,
    internalPort: mapping.internalPort,
    external: mapping.externalPort,
    lifetimeSeconds: mapping.lifetime,
    description: '',
  };
}
