/**
 * The mapping clients of porthole, pointed at the loopback fake router (test/support/fakeRouter.ts):
 * the gateway address policy relaxed to loopback, and a fast retransmission so a silent router
 * costs 50 + 100 + 200 ms, not RFC 6886's 3.75 s.
 */

import type { AddressPolicy } from '../../src/gateway/igdHttp.js';
import {
  createNatpmpClient,
  createPcpClient,
  createUpnpClient,
  type MappingClient,
  type MappingMethod,
} from '../../src/gateway/index.js';
import type { FakeRouter } from './fakeRouter.js';

/** Where the fake router answers, and the address porthole maps for. */
export const FAKE_ROUTER_HOST = '127.0.0.1';

/** The gateway address policy for tests on loopback (production never fetches from loopback). */
export const loopbackOnly: AddressPolicy = (url) =>
  url.hostname === FAKE_ROUTER_HOST ? undefined : `${url.hostname} is not loopback`;

/** NAT-PMP/PCP retransmission for tests. */
export const FAST_EXCHANGE = { initialTimeoutMs: 50, attempts: 3 };

/** One of porthole's mapping clients for the fake router. */
export function fakeRouterClient(
  router: FakeRouter,
  method: MappingMethod,
  options: { readonly onWarning?: (warning: string) => void; readonly attempts?: number } = {},
): MappingClient {
  const base = { gateway: FAKE_ROUTER_HOST, internalAddress: FAKE_ROUTER_HOST };
  const exchange = {
    ...FAST_EXCHANGE,
    attempts: options.attempts ?? FAST_EXCHANGE.attempts,
    ...(options.onWarning ? { onWarning: options.onWarning } : {}),
  };
  if (method === 'natpmp') return createNatpmpClient({ ...base, port: router.natpmpPort, exchange });
  if (method === 'pcp') return createPcpClient({ ...base, port: router.natpmpPort, exchange });
  return createUpnpClient({ ...base, service: router.service, policy: loopbackOnly });
}

/** Runs `body` while the router's rules allow only what `rules` allows, and lifts them after. */
export async function whilePermitting(
  router: FakeRouter,
  rules: (externalPort: number) => boolean,
  body: () => Promise<void>,
): Promise<void> {
  router.permit(rules);
  try {
    await body();
  } finally {
    router.permit(undefined);
  }
}
