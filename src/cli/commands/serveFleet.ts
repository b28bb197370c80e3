/**
 * `porthole serve --nats URL --front | --vantage NAME`: the check service as a fleet member.
 * Kept apart from serve.ts, which only hands over when --nats is given: without it, serve is
 * the single process it always was.
 */

import { positiveInteger } from '../../config/index.js';
import { PortholeError } from '../../errors/index.js';
import { parseCidrList } from '../../net/index.js';
import { packageVersion } from '../../system/index.js';
import type { CommandContext, CommandOutcome, OptionSpec } from '../commandSpec.js';

/** The fleet's flags, listed in `porthole serve --help`. */
export const FLEET_SERVE_OPTIONS: readonly OptionSpec[] = [
  ['--nats <urls>', 'join a fleet over NATS (nats:// or tls://, comma-separated): needs --front or --vantage'],
  ['--front', 'fleet front: the HTTP API, fanning each check out to the vantages'],
  ['--vantage <name>', 'fleet vantage point with this name: probes for the front'],
  ['--region <name>', "vantage's region; vantages of one region share its checks (default: the name)"],
  ['--nats-auth <file>', 'NATS credentials: an nkey seed, a .creds file, or one user:password line'],
  ['--nats-ca <file>', 'CA (PEM) of the NATS server certificate; turns TLS on'],
  ['--signing-key <file>', 'front: Ed25519 key orders are signed with (made when missing; FILE.pub is for vantages)'],
  ['--front-key <file>', "vantage: the front's public key (FILE.pub); orders not signed by it are refused"],
  ['--deadline <ms>', 'front: every vantage answers or is unknown by then', '15000'],
  ['--stall <ms>', 'front: silence after which an order is sent again (three: unknown)', '1000'],
  ['--heartbeat <ms>', 'vantage: health report interval', '5000'],
];

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** Runs a front or a vantage until interrupted. */
export async function serveFleet({ options, output, signal }: CommandContext): Promise<CommandOutcome> {
  const { loadFrontPublicKey, loadOrCreateSigningKey, startFront, startVantage } = await import('../../fleet/index.js');
  const servers = String(options.nats);
  const vantageName = text(options.vantage);
  if (Boolean(options.front) === (vantageName !== undefined)) throw new PortholeError('E_FLEET_ROLE');
  const nats = {
    servers,
    ...(text(options.natsAuth) ? { authFile: text(options.natsAuth) as string } : {}),
    ...(text(options.natsCa) ? { caFile: text(options.natsCa) as string } : {}),
  };
  const limits = {
    maxPorts: Math.max(1, positiveInteger(options.maxPorts, '--max-ports', 64, 65535)),
    rateLimitPerMinute: Math.max(1, positiveInteger(options.rateLimit, '--rate-limit', 30, 10_000_000)),
    concurrencyPerCaller: Math.max(1, positiveInteger(options.callerConcurrency, '--caller-concurrency', 2, 10_000)),
    version: packageVersion(),
  };
  let close: () => Promise<void>;
  let what: string;
  if (vantageName !== undefined) {
    const keyPath = text(options.frontKey);
    if (!keyPath) throw new PortholeError('E_FLEET_KEY', { detail: 'a vantage needs --front-key FILE.pub' });
    const vantage = await startVantage(
      {
        nats: { ...nats, name: `porthole-vantage-${vantageName}` },
        name: vantageName,
        ...(text(options.region) ? { region: text(options.region) as string } : {}),
        frontKey: loadFrontPublicKey(keyPath),
        allowTargets: parseCidrList(text(options.allowTargets) ?? ''),
        maxProbeTimeoutMs: 60_000,
        heartbeatMs: Math.max(100, positiveInteger(options.heartbeat, '--heartbeat', 5000, 3_600_000)),
        ...limits,
        log: (line) => output.notice(line),
      },
      { signal },
    );
    close = vantage.close;
    what = `vantage ${vantage.identity.name} (region ${vantage.identity.region})`;
    output.notice(`porthole ${what} serving checks from ${servers}`);
  } else {
    const keyPath = text(options.signingKey);
    if (!keyPath) throw new PortholeError('E_FLEET_KEY', { detail: 'a front needs --signing-key FILE' });
    const key = loadOrCreateSigningKey(keyPath);
    if (key.created) output.notice(`made signing key ${keyPath}; give vantages ${key.publicPath}`);
    const { parseListen } = await import('../../checker/index.js');
    const { host, port } = parseListen(String(options.listen));
    const front = await startFront(
      {
        nats: { ...nats, name: 'porthole-front' },
        signingKey: key.privateKey,
        host,
        port,
        trustProxy: parseCidrList(text(options.trustProxy) ?? ''),
        allowTargets: parseCidrList(text(options.allowTargets) ?? ''),
        probeTimeoutMs: Math.max(1, positiveInteger(options.probeTimeout, '--probe-timeout', 1500, 60_000)),
        deadlineMs: Math.max(100, positiveInteger(options.deadline, '--deadline', 15_000, 600_000)),
        stallMs: Math.max(50, positiveInteger(options.stall, '--stall', 1000, 600_000)),
        retentionDays: positiveInteger(options.retentionDays, '--retention-days', 30, 36_500),
        logger: options.logLevel === 'silent' ? false : { level: String(options.logLevel), stream: process.stderr },
        ...limits,
      },
      { signal },
    );
    close = front.close;
    what = `front ${front.url}`;
    output.notice(
      `porthole fleet front listening on ${front.url} (NATS ${servers}${front.shared ? ', shared limits in KV' : ', limits per front'})`,
    );
  }
  await new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await close();
  return { exitCode: 0, json: { stopped: what }, human: () => `stopped ${what}` };
}
