/**
 * `porthole egress (--checker URL | --target HOST) (--ports SPEC | --manifest FILE)`: which
 * outbound ports this network lets out, told apart from a middlebox that answers for every
 * port (the listener's answer carries our nonce, signed by the service's key).
 */

import { positiveInteger } from '../../config/index.js';
import type { EgressResult, EgressService, EgressState, NameResolution } from '../../egress/index.js';
import { PortholeError } from '../../errors/index.js';
import type { CommandSpec } from '../commandSpec.js';
import type { Output } from '../output.js';

/** The `egress` command. */
export const egressCommand: CommandSpec = {
  name: 'egress',
  summary: 'which outbound ports this network allows',
  options: [
    ['--checker <url>', 'a porthole check service with an egress listener (default: $PORTHOLE_CHECKER)'],
    ['--target <host>', 'a host running the porthole egress listener (answers are checked by nonce, not key)'],
    ['--ports <spec>', 'ports to test, e.g. 1-65535 or 80,443,53/udp'],
    ['--manifest <file>', "test the manifest's outbound entries (hosts: names are resolved and each address tested)"],
    ['--concurrency <n>', 'connection attempts in flight at once (fewer when the descriptor limit is reached)', '2048'],
    ['--timeout <ms>', 'longest wait for an answer before any round trip is known', '1000'],
  ],
  run: async ({ options, output, env, signal }) => {
    const { planForManifest, planForPorts, needsService } = await import('../../egress/index.js');
    const { sweepEgress } = await import('../../egress/index.js');
    const { parsePortSpec } = await import('../../net/index.js');
    if ((options.ports === undefined) === (options.manifest === undefined)) {
      throw new PortholeError('E_USAGE', {
        detail: 'name exactly one of --ports and --manifest',
        hint: 'porthole egress --checker URL --ports 80,443  or  porthole egress --manifest appliance.yaml',
      });
    }
    if (options.checker !== undefined && options.target !== undefined) {
      throw new PortholeError('E_USAGE', { detail: 'name --checker or --target, not both' });
    }
    const concurrency = Math.max(1, positiveInteger(options.concurrency, '--concurrency', 2048, 16_384));
    const timeout = Math.max(10, positiveInteger(options.timeout, '--timeout', 1000, 60_000));
    // yaml and zod load only for a manifest: a 65535-port sweep keeps its memory for sockets.
    const manifest =
      typeof options.manifest === 'string'
        ? await (await import('../../manifest/index.js')).loadManifest(options.manifest)
        : undefined;
    const wantService = manifest ? needsService(manifest.entries) : true;
    const service = wantService ? await findService(options, env, signal) : undefined;
    const plan = manifest
      ? await planForManifest(manifest.entries, service)
      : planForPorts(service as NonNullable<typeof service>, parsePortSpec(String(options.ports)));
    const started = performance.now();
    let lastDraw = 0;
    const report = await sweepEgress(plan.targets, {
      signal,
      concurrency,
      initialTimeoutMs: timeout,
      maxTimeoutMs: Math.max(timeout, 1500),
      ...(service?.publicKey ? { publicKey: service.publicKey } : {}),
      onProgress: (done, total) => {
        const now = performance.now();
        if (now - lastDraw < 100 && done < total) return;
        lastDraw = now;
        output.progress(progressBar(done, total));
      },
    });
    output.progress(undefined);
    const results = [...report.results, ...plan.untested];
    const count = (state: string) => results.filter((result) => result.state === state).length;
    const summary = {
      allowed: count('allowed'),
      blocked: count('blocked'),
      intercepted: count('intercepted'),
      untested: count('untested'),
    };
    const required = new Set(manifest?.entries.filter((entry) => entry.required).map((entry) => entry.name));
    // With a manifest, only required entries decide the exit status.
    const decides = (entry: string | undefined) => !manifest || entry === undefined || required.has(entry);
    const failedNames = plan.names.filter((name) => name.error && decides(name.entry));
    const problem =
      failedNames.length > 0 ||
      results.some((result) => (result.state === 'blocked' || result.state === 'intercepted') && decides(result.entry));
    const json: EgressReport = {
      target: service?.host ?? null,
      ...(service?.checker ? { checker: service.checker } : {}),
      signed: service?.publicKey !== undefined,
      ...(manifest ? { manifest: manifest.name } : {}),
      summary,
      results,
      names: plan.names,
      ...(plan.dnsCanary ? { dnsCanary: plan.dnsCanary } : {}),
      rttMs: report.rttMs === undefined ? null : Math.round(report.rttMs * 100) / 100,
      timeoutMs: Math.round(report.timeoutMs),
      retried: report.retried,
      canaries: report.canaries.map(({ host, port, protocol, state, reason }) => ({
        host,
        port,
        protocol,
        state,
        reason,
      })),
      ms: Math.round(performance.now() - started),
    };
    return { exitCode: problem ? 1 : 0, json, human: () => humanReport(output, json) };
  },
};

/** The listener to test against: the checker's (address, ports, key) or --target's address. */
async function findService(
  options: Readonly<Record<string, unknown>>,
  env: NodeJS.ProcessEnv,
  signal: AbortSignal,
): Promise<EgressService> {
  const { egressServiceOf, resolveName } = await import('../../egress/index.js');
  if (typeof options.target === 'string') {
    const { assertUsableTarget } = await import('../../net/index.js');
    const target = options.target.replace(/^\[(.*)\]$/, '$1');
    assertUsableTarget(target);
    const resolved = await resolveName(target);
    const host = resolved.addresses[0];
    if (!host) {
      throw new PortholeError('E_ADDRESS', {
        detail: `--target ${options.target}: ${resolved.error?.message ?? 'no address'}`,
        hint: 'Give the egress listener host as an address, or a name this machine can resolve.',
      });
    }
    return { host };
  }
  const { optionalCheckerUrl } = await import('../../checkerClient/index.js');
  const checker = optionalCheckerUrl(options.checker, env);
  if (!checker) throw new PortholeError('E_NO_EGRESS_TARGET');
  return egressServiceOf(checker, { signal });
}

function progressBar(done: number, total: number): string {
  const width = 30;
  const filled = total === 0 ? width : Math.round((done / total) * width);
  return `egress [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`;
}

/** `1-79, 81-442` from sorted port numbers, at most `limit` ranges. */
function compress(ports: readonly number[], limit = 12): string {
  const ranges: string[] = [];
  for (let i = 0; i < ports.length; ) {
    let j = i;
    while (j + 1 < ports.length && (ports[j + 1] ?? 0) === (ports[j] ?? 0) + 1) j++;
    ranges.push(i === j ? `${ports[i]}` : `${ports[i]}-${ports[j]}`);
    i = j + 1;
  }
  return ranges.length > limit
    ? `${ranges.slice(0, limit).join(', ')}, … (${ranges.length - limit} more ranges)`
    : ranges.join(', ');
}

/** The JSON document of `porthole egress` (docs/cli.md). */
export interface EgressReport {
  readonly target: string | null;
  readonly checker?: string;
  readonly signed: boolean;
  readonly manifest?: string;
  readonly summary: Readonly<Record<EgressState, number>>;
  readonly results: readonly EgressResult[];
  readonly names: readonly NameResolution[];
  /** A made-up name asked beside the manifest's: addresses here mean the resolver answers for anyone. */
  readonly dnsCanary?: NameResolution;
  readonly rttMs: number | null;
  readonly timeoutMs: number;
  readonly retried: number;
  /** The canaries that vouched for handshake-only verdicts (an answer here: the network answers for anyone). */
  readonly canaries: readonly Pick<EgressResult, 'host' | 'port' | 'protocol' | 'state' | 'reason'>[];
  readonly ms: number;
}

/** Reasons of the resolver need's rows, whose host is the resolver asked. */
const RESOLVER_REASONS = new Set([
  'names-resolve',
  'resolver-answers',
  'resolver-silent',
  'resolver-answers-for-anyone',
  'no-names-to-resolve',
]);

const STATE_STYLE = { allowed: 'green', blocked: 'red', intercepted: 'yellow', untested: 'dim' } as const;

function humanReport(output: Output, json: EgressReport): string {
  const lines: string[] = [];
  const via = json.checker ? `${json.checker}'s egress listener at ${json.target}` : json.target;
  lines.push(
    json.manifest
      ? `Outbound needs of ${json.manifest}${via ? ` (entries without hosts tested against ${via})` : ''}:`
      : `Outbound from this network to ${via}${json.signed ? ' (answers checked against the service key)' : ' (answers checked by nonce)'}:`,
  );
  if (json.dnsCanary && json.dnsCanary.addresses.length > 0) {
    lines.push(
      `  ${output.style('yellow', 'DNS')}  the resolver answers for names that do not exist: ${json.dnsCanary.name} → ${json.dnsCanary.addresses.join(', ')}`,
    );
  }
  // A name several entries list is said once.
  const said = new Set<string>();
  for (const name of json.names) {
    const line = name.error
      ? `  ${output.style('red', 'DNS')}  ${name.name}: ${name.error.message}`
      : `  DNS  ${name.name} → ${name.addresses.join(', ')}`;
    if (!said.has(line)) lines.push(line);
    said.add(line);
  }
  const groups = new Map<string, (typeof json.results)[number][]>();
  for (const result of json.results) {
    const key = `${result.entry ?? ''}|${result.name ?? result.host}|${result.state}|${result.reason}|${result.protocol}`;
    const members = groups.get(key);
    if (members) members.push(result);
    else groups.set(key, [result]);
  }
  for (const [, members] of groups) {
    const first = members[0] as (typeof members)[number];
    const ports = members.map((member) => member.port).sort((a, b) => a - b);
    const peer = RESOLVER_REASONS.has(first.reason)
      ? `the resolver ${first.host}`
      : first.name && first.name !== first.host
        ? `${first.name} (${first.host})`
        : first.host;
    const where = json.manifest ? `${first.entry ?? ''} → ${peer}: ` : '';
    const state = output.style(STATE_STYLE[first.state as keyof typeof STATE_STYLE] ?? 'dim', first.state.padEnd(11));
    lines.push(
      `  ${state} ${where}${compress(ports)}/${first.protocol}  (${first.reason}${ports.length > 1 ? `, ${ports.length} ports` : ''})`,
    );
  }
  const { allowed = 0, blocked = 0, intercepted = 0, untested = 0 } = json.summary;
  lines.push(
    `${allowed} allowed, ${blocked} blocked, ${intercepted} intercepted${untested ? `, ${untested} untested` : ''} in ${(json.ms / 1000).toFixed(1)} s` +
      `${json.rttMs !== null ? ` (round trip ${json.rttMs} ms, deadline ${json.timeoutMs} ms${json.retried ? `, ${json.retried} silent ports tried twice` : ''})` : ''}.`,
  );
  const anyone = json.results.filter((result) => result.reason === 'answers-for-anyone');
  if (anyone.length > 0) {
    const canaries = json.canaries.filter((canary) => canary.state === 'allowed');
    lines.push(
      `Answers for anyone: ${canaries.map((canary) => `${canary.host}:${canary.port}`).join(', ')} cannot answer (a documentation address, never on the internet) and was answered all the same, so a handshake on ${compress([...new Set(anyone.map((result) => result.port))].sort((a, b) => a - b))}/tcp proves nothing: a transparent proxy or portal on this network accepts those connections itself.`,
    );
  }
  if (intercepted > 0) {
    lines.push(
      "Intercepted: something on the path (a proxy, a captive portal) answers in the server's place; traffic on those ports does not reach the internet as sent.",
    );
  }
  return lines.join('\n');
}
