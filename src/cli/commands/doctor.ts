/**
 * `porthole doctor [FILE|PORTS]`: the whole diagnosis, hop by hop, with evidence and fixes;
 * exit 0 when reachable and every other need of the manifest holds, 1 when not. A frame over the
 * library's `diagnose`.
 */
import { checklistText, diagnosisPasses, progressLine } from '../checklist.js';
import type { CommandSpec } from '../commandSpec.js';

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
    const { diagnose } = await import('../../library/index.js');
    const source = args[0];
    const progress = progressLine(output);
    const report = await diagnose({
      env,
      signal,
      onProgress: progress.onProgress,
      ...(source ? { ports: source } : {}),
      ...(typeof options.checker === 'string' ? { checker: options.checker } : {}),
      ...(typeof options.stun === 'string' ? { stun: options.stun } : {}),
      ...(typeof options.name === 'string' ? { name: options.name } : {}),
      ...(typeof options.relay === 'string' ? { relay: options.relay } : {}),
    }).finally(progress.clear);
    const ports = report.findings
      .filter((f) => f.id.startsWith('listener:'))
      .map((f) => f.id.slice('listener:'.length));
    return {
      exitCode: diagnosisPasses(report, ports.length) ? 0 : 1,
      json: report,
      human: () =>
        checklistText(
          output,
          `porthole doctor ${ports.join(', ') || '(no ports)'}${report.lanAddress ? ` on ${report.lanAddress}` : ''}:`,
          report,
        ),
    };
  },
};
