/** The NAT-PMP (RFC 6886) client: external address, map, renew, delete. */
import type { AbortOptions } from '../deadline/index.js';
import { PortholeError } from '../errors/index.js';
import { candidatePorts, involvesLowPort, LOW_PORT_EXCHANGE, portSatisfies, renewalRequest } from './candidates.js';
import { createMadeMappings } from './madeMappings.js';
import {
  decodeNatpmpResponse,
  encodeNatpmpExternalAddressRequest,
  encodeNatpmpMapRequest,
  NATPMP_RESULTS,
  type NatpmpResponse,
} from './natpmpCodec.js';
import { gatewayRefusal, rangeExhausted } from './refusal.js';
import type { Mapping, MappingClient, MappingEntry, MappingRequest } from './types.js';
import { type ExchangeOptions, udpExchange } from './udpExchange.js';

/** NAT-PMP and PCP servers listen here (RFC 6886, RFC 6887). */
export const NATPMP_PORT = 5351;

/** Options for a NAT-PMP client. */
export interface NatpmpClientOptions {
  readonly gateway: string;
  readonly internalAddress: string;
  /** Overrides 5351, for tests. */
  readonly port?: number;
  readonly exchange?: Omit<ExchangeOptions, 'signal'>;
}

/** NAT-PMP result 3, "network failure": the router has no public address. */
const NETWORK_FAILURE = 3;

function refused(result: number, what: string) {
  return gatewayRefusal('natpmp', what, NATPMP_RESULTS[result] ?? `result ${result}`, result, {
    noPublicAddress: result === NETWORK_FAILURE,
  });
}

/** A NAT-PMP client for one gateway; it remembers the mappings it made (NAT-PMP cannot list). */
export function createNatpmpClient(options: NatpmpClientOptions): MappingClient & { lastEpoch(): number | undefined } {
  const port = options.port ?? NATPMP_PORT;
  const made = createMadeMappings('NAT-PMP');
  let epoch: number | undefined;

  async function ask<K extends NatpmpResponse['kind']>(
    request: Uint8Array,
    kind: K,
    signalOptions: AbortOptions,
    lowPort = false,
  ): Promise<NatpmpResponse> {
    const answer = await udpExchange(
      options.gateway,
      port,
      request,
      (message) => {
        const decoded = decodeNatpmpResponse(message);
        return decoded.kind === kind || decoded.kind === 'error' ? decoded : undefined;
      },
      { ...options.exchange, ...(lowPort ? LOW_PORT_EXCHANGE : {}), ...signalOptions },
    );
    if (!answer)
      throw new PortholeError('E_GATEWAY_UNREACHABLE', {
        detail: `no NAT-PMP answer from ${options.gateway}:${port}${lowPort ? ' (asked once: a router may stall on a port below 1024 it refuses)' : ''}`,
      });
    epoch = answer.epoch;
    return answer;
  }

  async function externalIp(signalOptions: AbortOptions = {}): Promise<string> {
    const answer = await ask(encodeNatpmpExternalAddressRequest(), 'external-address', signalOptions);
    if (answer.kind !== 'external-address' || answer.result !== 0) throw refused(answer.result, 'external address');
    return answer.externalIp;
  }

  async function mapOnce(request: MappingRequest, externalPort: number, signalOptions: AbortOptions) {
    const answer = await ask(
      encodeNatpmpMapRequest(request.protocol, request.internalPort, externalPort, request.lifetimeSeconds),
      'map',
      signalOptions,
      involvesLowPort({ ...request, external: externalPort }),
    );
    if (answer.kind !== 'map' || answer.result !== 0)
      throw refused(answer.result, `map ${request.internalPort}/${request.protocol}`);
    return answer;
  }

  return {
    method: 'natpmp',
    gateway: options.gateway,
    lastEpoch: () => epoch,
    externalIp,
    async map(request, signalOptions = {}) {
      const ip = await externalIp(signalOptions);
      const skipped: { port: number; why: string }[] = [];
      for (const candidate of candidatePorts(request)) {
        const answer = await mapOnce(request, candidate, signalOptions);
        if (answer.kind !== 'map') continue;
        if (!portSatisfies(request, answer.externalPort)) {
          // The router chose a port outside the range: give it back and try the next one.
          await mapOnce({ ...request, lifetimeSeconds: 0 }, 0, signalOptions).catch(() => undefined);
          skipped.push({ port: candidate, why: `taken (the router offered ${answer.externalPort})` });
          continue;
        }
        if (answer.externalPort !== candidate)
          skipped.push({ port: candidate, why: `not given (the router chose ${answer.externalPort})` });
        const mapping: Mapping = {
          method: 'natpmp',
          gateway: options.gateway,
          protocol: request.protocol,
          internalAddress: options.internalAddress,
          internalPort: answer.internalPort,
          externalPort: answer.externalPort,
          externalIp: ip,
          lifetime: answer.lifetime,
          ...(answer.lifetime !== request.lifetimeSeconds ? { asked: { lifetime: request.lifetimeSeconds } } : {}),
          epoch: answer.epoch,
          description: request.description,
          ...(skipped.length > 0 ? { skipped } : {}),
        };
        made.remember(mapping);
        return mapping;
      }
      throw rangeExhausted(skipped);
    },
    async renew(mapping, signalOptions = {}) {
      const answer = await mapOnce(renewalRequest(mapping), mapping.externalPort, signalOptions);
      if (answer.kind !== 'map') throw refused(answer.result, 'renew');
      // The ISP may have given the router a new address since: a kept mapping must say so
      // (the keeper reported the first address for ever; found with test/support/fakeRouter.ts).
      const ip = await externalIp(signalOptions);
      const renewed = {
        ...mapping,
        externalIp: ip,
        externalPort: answer.externalPort,
        lifetime: answer.lifetime,
        epoch: answer.epoch,
      };
      made.remember(renewed);
      return renewed;
    },
    async unmap(mapping, signalOptions = {}) {
      // RFC 6886 section 3.4: lifetime 0 and external port 0 delete the internal port's mapping.
      const answer = await ask(
        encodeNatpmpMapRequest(mapping.protocol, mapping.internalPort, 0, 0),
        'map',
        signalOptions,
      );
      if (answer.result !== 0) throw refused(answer.result, `delete ${mapping.internalPort}/${mapping.protocol}`);
      made.forget(mapping);
    },
    async list(): Promise<MappingEntry[]> {
      return made.entries();
    },
  };
}
