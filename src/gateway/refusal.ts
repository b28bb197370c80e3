/** The coded error for a router's refusal of a NAT-PMP or PCP request. */
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
