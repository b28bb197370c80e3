/**
 * `porthole doctor [FILE|PORTS]`: the whole diagnosis, hop by hop, with evidence and fixes;
 * exit 0 when reachable, 1 when not.
 */
import type { DoctorOptions, DoctorReport } from '../../doctor/index.js';
import type { CommandSpec } from '../commandSpec.js';
import type { Output } from '../output.js';

const MARK = { ok: '✔', warn: '!', fail: '✖', skip: '–' } as const;
const MARK_STYLE = { ok: 'green', warn: 'yellow', fail: 'red', skip: 'dim' } as const;

/** The checklist a person reads: one line per finding, the fix under each failure. */
export function doctorHuman(output: Output, title: string, report: DoctorReport & { ms: number }): string {
  const lines = [title];
  const width = Math.max(...report.findings.map((f) => f.id.length), 8);
  for (const f of report.findings) {
    lines.push(`  ${output.style(MARK_STYLE[f.status], MARK[f.status])} ${f.id.padEnd(width)}  ${f.summary}`);
    if (f.fix && (f.status === 'fail' || f.status === 'warn')) lines.push(`    ${' '.repeat(width)}  fix: ${f.fix}`);
  }
  const failing = report.findings.find((f) => f.status === 'fail');
  lines.push(
    report.reachable
      ? output.style('green', `Reachable${report.publicAddress ? ` at ${report.publicAddress}` : ''}.`)
      : output.style('red', `Not reachable${failing?.cause ? `: ${failing.cause}` : ''}.`) +
          ` (${report.findings.length} checks in ${(report.ms / 1000).toFixed(1)} s)`,
  );
  return lines.join('\n');
}

/** Reads the doctor's and expose's common options. */
export async function doctorInputs(
  source: string | undefined,
  options: Readonly<Record<string, unknown>>,
  env: NodeJS.ProcessEnv,
): Promise<Omit<DoctorOptions, 'signal'>> {
  const { loadManifestOrPorts } = await import('../../manifest/index.js');
  const { optionalCheckerUrl } = await import('../../checker/client.js');
  const { mappingStatePath } = await import('../../gateway/state.js');
  const { stunServer } = await import('./nat.js');
  // Without FILE|PORTS the doctor still checks the router, the NAT and the DNS name.
  const manifest = source
    ? await loadManifestOrPorts(source, { expose: true })
    : { name: 'no ports', description: undefined, entries: [], source: '<none>' };
  const checker = optionalCheckerUrl(options.checker, env);
  const stun = typeof options.stun === 'string' ? await stunServer(options.stun) : undefined;
  return {
    manifest,
    statePath: mappingStatePath(env),
    ...(checker ? { checker } : {}),
    ...(stun ? { stun } : {}),
    ...(typeof options.name === 'string' ? { name: options.name } : {}),
  };
}

/** The `doctor` command. */
export const doctorCommand: CommandSpec = {
  name: 'doctor',
  args: '[source]',
  summary: 'the whole diagnosis, hop by hop, with evidence and fixes',
  options: [
    ['--checker <url>', 'check service URL (default: $PORTHOLE_CHECKER)'],
    ['--stun <host[:port]>', 'STUN server for the NAT diagnosis'],
    ['--name <dnsname>', 'DNS name that should point at the public address'],
  ],
  run: async ({ args, options, env, output, signal }) => {
    const { runDoctor } = await import('../../doctor/index.js');
    const source = args[0];
    const inputs = await doctorInputs(source, options, env);
    const report = await runDoctor({ ...inputs, signal }, source ?? '');
    const ports = report.findings
      .filter((f) => f.id.startsWith('listener:'))
      .map((f) => f.id.slice('listener:'.length));
    return {
      exitCode: report.reachable || (ports.length === 0 && !report.findings.some((f) => f.status === 'fail')) ? 0 : 1,
      json: report,
      human: () =>
        doctorHuman(
          output,
          `porthole doctor ${ports.join(', ') || '(no ports)'}${report.lanAddress ? ` on ${report.lanAddress}` : ''}:`,
          report,
        ),
    };
  },
};

/** The `expose` command. */
export const exposeCommand: CommandSpec = {
  name: 'expose',
  args: '<source>',
  summary: 'make FILE or PORTS reachable from the internet and prove it',
  options: [
    ['--checker <url>', 'check service URL (default: $PORTHOLE_CHECKER)'],
    ['--stun <host[:port]>', 'STUN server for the NAT diagnosis'],
    ['--name <dnsname>', 'DNS name that should point at the public address'],
    ['--firewall <backend>', 'also open the host firewall (nftables)'],
    ['--keep', 'renew, re-make after a router restart, re-verify, and remove everything on exit'],
    ['--lease <seconds>', 'mapping lifetime asked of the router', '7200'],
    ['--via <method>', 'map with this protocol only: pcp, natpmp or upnp'],
    ['--interval <seconds>', 'with --keep: re-verify from outside this often', '300'],
  ],
  run: async ({ args, options, env, output, signal }) => {
    const { runExpose } = await import('../../doctor/expose.js');
    const { PortholeError } = await import('../../errors/index.js');
    const { positiveInteger } = await import('./probe.js');
    const source = args[0] ?? '';
    if (options.firewall !== undefined && options.firewall !== 'nftables') {
      throw new PortholeError('E_FIREWALL_UNSUPPORTED', {
        detail: `--firewall ${String(options.firewall)}: expose applies nftables only`,
        hint: 'Use --firewall nftables, or write the rules with `porthole firewall FILE --target T` and apply them yourself.',
      });
    }
    const via = options.via === undefined ? undefined : String(options.via);
    if (via !== undefined && via !== 'pcp' && via !== 'natpmp' && via !== 'upnp') {
      throw new PortholeError('E_USAGE', { detail: `--via ${via}`, hint: 'Use --via pcp, natpmp or upnp.' });
    }
    const inputs = await doctorInputs(source, options, env);
    const keep = options.keep === true;
    const result = await runExpose(
      {
        ...inputs,
        signal,
        keep,
        ...(options.firewall === 'nftables' ? { firewall: 'nftables' as const } : {}),
        lifetimeSeconds: Math.max(2, positiveInteger(options.lease, '--lease', 7200, 604_800)),
        ...(via ? { via } : {}),
        verifyEverySeconds: Math.max(5, positiveInteger(options.interval, '--interval', 300, 86_400)),
        onStatus: (status) => {
          if (output.json) output.jsonLine(status);
          else
            output.notice(
              `${String(status.at)} ${String(status.kind)}${status.reachable !== undefined ? `: ${status.reachable ? 'reachable' : 'NOT reachable'}` : ''}${status.mapping ? `: ${(status.mapping as { externalIp: string; externalPort: number }).externalIp}:${(status.mapping as { externalPort: number }).externalPort}` : ''}${status.error ? `: ${String(status.error)}` : ''}`,
            );
        },
      },
      source,
    );
    const give = result.publicAddress
      ? result.mappings.map((m) => `${result.publicAddress}:${m.externalPort}/${m.protocol}`).join(', ')
      : '';
    return {
      exitCode: result.reachable ? 0 : 1,
      jsonLine: keep,
      json: {
        reachable: result.reachable,
        publicAddress: result.publicAddress,
        mappings: result.mappings,
        firewall: result.firewall,
        kept: result.kept,
        findings: result.findings,
        ms: result.ms,
      },
      human: () =>
        [
          doctorHuman(output, `porthole expose ${source}:`, result),
          ...(result.reachable && give ? [`Give your users: ${give}`] : []),
          ...(keep ? ['Stopped: the mappings and firewall rules made were removed.'] : []),
        ].join('\n'),
    };
  },
};
