/** The coded errors for a router's refusals: of a NAT-PMP or PCP request, and of every port of a range. */
import { PortholeError } from '../errors/index.js';
import type { MappingMethod } from './types.js';

/** Said when the router answers "network failure" and the like: it has no public address to map on. */
const NO_PUBLIC_ADDRESS_HINT =
  'The router has no usable public address (behind a carrier NAT, or its WAN is down): no mapping on it can work.';

/** E_GATEWAY_REFUSED naming the method, the request and the router's reason. */
export function gatewayRefusal(
  method: MappingMethod,
  what: string,
  reason: string,
  result: number,
  options: { noPublicAddress?: boolean; data?: Record<string, unknown> } = {},
): PortholeError {
  return new PortholeError('E_GATEWAY_REFUSED', {
    detail: `${method === 'pcp' ? 'PCP' : 'NAT-PMP'} ${what}: ${reason}`,
    ...(options.noPublicAddress ? { hint: NO_PUBLIC_ADDRESS_HINT } : {}),
    data: { method, result, ...options.data },
  });
}

/** E_MAPPING_CONFLICT when every port of an asked range was taken; `skipped` says by what. */
export function rangeExhausted(skipped: readonly { port: number; why: string }[]): PortholeError {
  return new PortholeError('E_MAPPING_CONFLICT', {
    detail: `no port of the range was free: ${skipped.map((s) => s.port).join(', ')}`,
    data: { skipped },
  });
}
