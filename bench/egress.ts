/**
 * Issue 4's benchmark: a full 1-65535 egress sweep from the venue LAN (80, 443 and 745 let
 * out, everything else dropped) beside `nmap -sT -T4` on the same range from the same
 * namespace, one run each (a sweep is long; the verdicts are compared, not just the times).
 */
import { startLab } from '../lab/lab.js';
import { PLAN } from '../lab/topology.js';
import { ms, PORTHOLE_BIN, ratio } from './measure.js';

const BIN = PORTHOLE_BIN;
const TIME = '/usr/bin/time';

function peakMiB(stderr: string): number {
  const kib = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)?.[1] ?? 0);
  return Math.round((kib / 1024) * 10) / 10;
}

/** The section for docs/BENCHMARKS.md. */
export async function benchEgress(): Promise<string> {
  const title = '## Egress sweep (issue 4)';
  let lab: Awaited<ReturnType<typeof startLab>>;
  try {
    lab = await startLab({ topology: 'venue', egressTcpPorts: [80, 443, 745] });
  } catch (error) {
    return `${title}\n\nNot measured: ${(error as Error).message}`;
  }
  try {
    await lab.startBackgroundUntil(
      'internet',
      'checker',
      process.execPath,
      [
        BIN,
        'serve',
        '--listen',
        `${PLAN.internetHost}:80`,
        '--egress-address',
        PLAN.internetAlt,
        '--egress-ports',
        '1-65535',
        '--data',
        `${lab.state.dir}/checker-data`,
        '--log-level',
        'silent',
      ],
      'listening on',
    );
    const ours = await lab.exec(
      'lan',
      TIME,
      ['-v', process.execPath, BIN, 'egress', '--target', PLAN.internetAlt, '--ports', '1-65535', '--json'],
      { timeoutMs: 300_000 },
    );
    const json = JSON.parse(ours.stdout) as {
      results: { port: number; state: string }[];
      rttMs: number;
      timeoutMs: number;
    };
    const allowed = json.results.filter((r) => r.state === 'allowed').map((r) => r.port);
    const theirs = await lab.exec(
      'lan',
      TIME,
      ['-v', 'nmap', '-sT', '-T4', '-Pn', '-n', '-p', '1-65535', '-oG', '-', PLAN.internetAlt],
      { timeoutMs: 600_000 },
    );
    const open = [...theirs.stdout.matchAll(/(\d+)\/open\/tcp/g)].map((m) => Number(m[1]));
    const same = allowed.join(',') === open.join(',');
    const oursMiB = peakMiB(ours.stderr);
    return [
      title,
      '',
      'Venue lab (80, 443, 745 let out; the rest dropped, so 65532 ports time out), from the LAN host to the',
      'egress listener answering on every port of one address (nftables redirect). Whole processes, one run each.',
      '',
      '| tool | wall time | peak RSS | open/allowed ports | ratio |',
      '| --- | --- | --- | --- | --- |',
      `| \`porthole egress --target … --ports 1-65535\` | ${ms(ours.ms)} | ${oursMiB} MiB | ${allowed.join(', ')} | 1.00x |`,
      `| \`nmap -sT -T4 -p 1-65535\` | ${ms(theirs.ms)} | ${peakMiB(theirs.stderr)} MiB | ${open.join(', ')} | ${ratio(theirs.ms, ours.ms)} |`,
      '',
      `Verdicts ${same ? 'identical' : 'DIFFER'}. porthole learnt a round trip of ${json.rttMs} ms and ended on a ${json.timeoutMs} ms deadline;`,
      'every silent port was tried twice (the second time with twice the deadline).',
      '',
      `Targets: at least as fast as nmap -sT -T4 — ${ours.ms <= theirs.ms ? 'met' : 'NOT met'}; peak memory under 150 MB — ${oursMiB * 1.048576 < 150 ? 'met' : 'NOT met'}.`,
    ].join('\n');
  } finally {
    lab.stop();
  }
}
