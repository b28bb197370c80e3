/**
 * `porthole doctor [FILE|PORTS]`: the whole diagnosis, hop by hop, with evidence and fixes;
 * exit 0 when reachable and every other need of the manifest holds, 1 when not.
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
  const unproven = report.findings.find((f) => f.id.startsWith('outside-in:') && f.status === 'warn');
  // Reachable is about the inbound road; the manifest's other needs that fail are named beside it.
  const otherNeeds = report.findings.filter((f) => f.status === 'fail').map((f) => `${f.id} (${f.cause ?? 'fails'})`);
  lines.push(
    report.reachable
      ? output.style('green', `Reachable${report.publicAddress ? ` at ${report.publicAddress}` : ''}, proven.`) +
          (otherNeeds.length > 0 ? ` ${output.style('red', `Other needs fail: ${otherNeeds.join(', ')}.`)}` : '')
      : !failing && unproven
        ? output.style('yellow', 'Open from the internet, but not proven to reach this computer.') +
          ` (${report.findings.length} checks in ${(report.ms / 1000).toFixed(1)} s)`
        : output.style('red', `Not reachable${failing?.cause ? `: ${failing.cause}` : ''}.`) +
          ` (${report.findings.length} checks in ${(report.ms / 1000).toFixed(1)} s)`,
  );
  return lines.join('\n');
}

/** Exit 0: every port proven reachable (or none asked) and no other need of the manifest fails. */
export function diagnosisPasses(report: DoctorReport, ports: number): boolean {
  return (report.reachable || ports === 0) && !report.findings.some((f) => f.status === 'fail');
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
    ...(typeof options.relay === 'string' ? { relayUrl: options.relay } : {}),
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
    ['--relay <url>', 'your relay (ssh://USER@HOST[:PORT]): fixes name it where no direct road can work'],
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
      exitCode: diagnosisPasses(report, ports.length) ? 0 : 1,
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
