/**
 * Issue 12's egress figures, in the venue lab (80 and 443 let out; a transparent proxy on the
 * router answers every connection on 745): what a manifest run with canaries costs and says,
 * beside nmap -sT on the same hosts and port (a connect scan calls the proxy "open"); and how
 * long a checker on a port the venue drops takes to be reported, beside fetch() alone.
 */
import { startLab } from '../lab/lab.js';
import { PLAN } from '../lab/topology.js';
import { startVenueProxy } from '../lab/venueProxy.js';
import { median, ms, PORTHOLE_BIN, ratio } from './measure.js';

const BIN = PORTHOLE_BIN;
const RUNS = 3;
const NOBODY = '203.0.113.99';

/** The section for docs/BENCHMARKS.md. */
export async function benchEgressVerdicts(): Promise<string> {
  const title = '## Egress verdicts through a venue proxy (issue 12)';
  let lab: Awaited<ReturnType<typeof startLab>>;
  try {
    lab = await startLab({
      topology: 'venue',
      egressTcpPorts: [80, 443],
      dnsRecords: { 'svr1.example.net': PLAN.internetHost, 'svr2.example.net': NOBODY },
    });
  } catch (error) {
    return `${title}\n\nNot measured: ${(error as Error).message}`;
  }
  try {
    for (const [name, port] of [
      ['checker', 80],
      ['checker-8080', 8080],
    ] as const) {
      await lab.startBackgroundUntil(
        'internet',
        name,
        process.execPath,
        [
          BIN,
          'serve',
          '--listen',
          `${PLAN.internetHost}:${port}`,
          '--data',
          `${lab.state.dir}/${name}-data`,
          '--log-level',
          'silent',
        ],
        'listening on',
      );
    }
    await startVenueProxy(lab, 745);
    const manifest = `${lab.state.dir}/pool.yaml`;
    const { writeFileSync } = await import('node:fs');
    writeFileSync(
      manifest,
      'name: pool\nports:\n  - name: pool\n    direction: outbound\n    protocol: tcp\n    port: [745, 80]\n    hosts: [svr1.example.net, svr2.example.net]\n',
    );
    const timed = async (command: string, args: readonly string[]) => {
      const times: number[] = [];
      let last = { stdout: '', stderr: '', code: 0 as number | null };
      for (let i = 0; i < RUNS; i++) {
        const run = await lab.exec('lan', command, args, { timeoutMs: 60_000 });
        times.push(run.ms);
        last = run;
      }
      return { ms: median(times), last };
    };
    const ours = await timed(process.execPath, [BIN, 'egress', '--manifest', manifest, '--json']);
    const json = JSON.parse(ours.last.stdout) as {
      results: { host: string; port: number; state: string; reason: string }[];
    };
    const verdict = (host: string, port: number) => {
      const row = json.results.find((r) => r.host === host && r.port === port);
      return row ? `${row.state} (${row.reason})` : 'none';
    };
    const nmap = await timed('nmap', ['-sT', '-Pn', '-n', '-p', '80,745', '-oG', '-', PLAN.internetHost, NOBODY]);
    const nmapState = (host: string, port: number) =>
      new RegExp(`Host: ${host.replaceAll('.', '\\.')} .*?${port}/(\\w+)/tcp`).exec(nmap.last.stdout)?.[1] ?? '?';

    const blocked = `http://${PLAN.internetHost}:8080`;
    const unreachable = await timed(process.execPath, [
      BIN,
      'egress',
      '--checker',
      blocked,
      '--ports',
      '443',
      '--json',
    ]);
    const fetchOnly = await timed(process.execPath, [
      '-e',
      `fetch('${blocked}/v1/egress').catch((e) => console.log(e.cause?.code ?? e.message))`,
    ]);
    return [
      title,
      '',
      `Venue lab: 80 and 443 let out, a proxy on the router answers every connection on 745. Manifest: ports`,
      `745 and 80 on svr1 (the vendor's server, ${PLAN.internetHost}) and svr2 (${NOBODY}, where nothing runs).`,
      `Whole processes, median of ${RUNS}.`,
      '',
      '| host:port | `porthole egress --manifest` | `nmap -sT` |',
      '| --- | --- | --- |',
      ...[
        [PLAN.internetHost, 745],
        [NOBODY, 745],
        [PLAN.internetHost, 80],
        [NOBODY, 80],
      ].map(
        ([host, port]) =>
          `| ${host}:${port} | ${verdict(String(host), Number(port))} | ${nmapState(String(host), Number(port))} |`,
      ),
      `| wall time | ${ms(ours.ms)} (canaries included) | ${ms(nmap.ms)} (${ratio(nmap.ms, ours.ms)}) |`,
      '',
      'A checker on a port the venue drops (8080):',
      '',
      '| client | answer | wall time |',
      '| --- | --- | --- |',
      `| \`porthole egress --checker …:8080\` | exit ${unreachable.last.code}, ${/"reason": "(\w+)"/.exec(unreachable.last.stdout)?.[1] ?? '?'} | ${ms(unreachable.ms)} |`,
      `| \`fetch()\` alone (before: undici's connect timeout) | ${fetchOnly.last.stdout.trim()} | ${ms(fetchOnly.ms)} |`,
    ].join('\n');
  } finally {
    lab.stop();
  }
}
