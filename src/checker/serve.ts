/** Running the check service: store, retention, listening, and a clean stop. */

import type { FastifyInstance } from 'fastify';
import { type EgressListener, type EgressListenerOptions, startEgressListener } from '../egress/index.js';
import { PortholeError } from '../errors/index.js';
import { type StunResponderOptions, startStunResponder } from '../nat/index.js';
import { bindError } from '../net/index.js';
import { requiredFolder } from '../system/index.js';
import { buildChecker, type CheckerOptions } from './app.js';
import { openCheckStore } from './store.js';

/** Settings for serving, beyond the app's. */
export interface ServeOptions extends Partial<CheckerOptions> {
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly retentionDays: number;
  /** Answer STUN Binding requests too (RFC 5780 when two addresses are given). */
  readonly stun?: StunResponderOptions;
  /** Run the egress listener too. */
  readonly egress?: Omit<EgressListenerOptions, 'exclude'>;
  /** More routes on the same app before it listens (the DNS name service's /nic/update). */
  readonly extend?: (app: FastifyInstance) => void | Promise<void>;
}

/** Where checks are recorded when --data is not given: porthole's data folder (src/system/folders.ts). */
export function defaultDataDir(env: NodeJS.ProcessEnv): string {
  return requiredFolder('data', env);
}

/** Old checks are pruned this often. */
const PRUNE_INTERVAL_MS = 3_600_000;

/** A running service. */
export interface RunningChecker {
  readonly url: string;
  /** The egress listener, when one was asked for. */
  readonly egress?: EgressListener;
  close(): Promise<void>;
}

/** Parses `ADDR:PORT` or `[V6]:PORT`. */
export function parseListen(text: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text);
  const port = Number(match?.[3]);
  if (!match || port > 65535) {
    throw new PortholeError('E_USAGE', {
      detail: `--listen "${text}" is not ADDR:PORT`,
      hint: 'Write --listen 0.0.0.0:8080 or --listen [::]:8080.',
    });
  }
  return { host: match[1] ?? match[2] ?? '', port };
}

/** Starts the service; resolves once it listens. */
export async function startChecker(options: ServeOptions): Promise<RunningChecker> {
  const store = openCheckStore(options.dataDir, options.retentionDays);
  store.prune();
  const pruner = setInterval(() => store.prune(), PRUNE_INTERVAL_MS);
  pruner.unref();
  let egress: EgressListener | undefined;
  let stun: Awaited<ReturnType<typeof startStunResponder>> | undefined;
  let app: Awaited<ReturnType<typeof buildChecker>> | undefined;
  const stop = async () => {
    clearInterval(pruner);
    stun?.close();
    await app?.close();
    await egress?.close();
    store.close();
  };
  try {
    if (options.egress) egress = await startEgressListener({ ...options.egress, exclude: ownPorts(options) });
    app = await buildChecker(options, { store, ...(egress ? { egress } : {}) });
    await options.extend?.(app);
    const url = await app.listen({ host: options.host, port: options.port });
    if (options.stun) stun = await startStunResponder(options.stun);
    return { url, ...(egress ? { egress } : {}), close: stop };
  } catch (error) {
    await stop();
    throw error instanceof PortholeError ? error : bindError(error, `${options.host}:${options.port}`);
  }
}

/** The ports the service itself uses on the egress address: the redirect must leave them alone. */
function ownPorts(options: ServeOptions): number[] {
  const address = options.egress?.address;
  const sameAddress = (host: string) => host === address || host === '0.0.0.0' || host === '::';
  return [
    ...(sameAddress(options.host) ? [options.port] : []),
    ...(options.stun && [options.stun.primary, options.stun.alternate].some((host) => host && sameAddress(host))
      ? [options.stun.port, options.stun.port + 1]
      : []),
  ];
}
