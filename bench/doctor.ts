/**
 * Issue 8's benchmark: a full `porthole doctor 7001` in the home lab with all well (server
 * listening, mapping made, checker and STUN on the internet host), beside the peer tools a
 * person runs for part of the same answer: `upnpc -l` (the router's mappings),
 * `turnutils_natdiscovery` (NAT behaviour) and `nmap -sT` from outside (is the port open).
 */

import { startLab } from '../lab/lab.js';
import { startLabChecker } from '../lab/porthole.js';
import { PLAN } from '../lab/topology.js';
import { median, ms, PORTHOLE_BIN, ratio } from './measure.js';

const RUNS = 5;
/** The doctor's median before the run session (one discovery per run) and the adaptive STUN silence. */
const DOCTOR_BEFORE_MS = 1374;
const BIN = PORTHOLE_BIN;

/** The section for docs/BENCHMARKS.md. */
export async function benchDoctor(): Promise<string> {
  const title = '## Doctor (issue 8)';
  let lab: Awaited<ReturnType<typeof startLab>>;
  try {
    lab = await startLab({ topology: 'home' });
  } catch (error) {
    return `${title}\n\nNot measured: ${(error as Error).message}`;
  }
  try {
    const state = { XDG_STATE_HOME: `${lab.state.dir}/state` };
    await startLabChecker(lab, { from: 'built' });
    lab.startBackground('lan', 'server', 'socat', ['TCP-LISTEN:7001,fork,reuseaddr', 'SYSTEM:echo media-server']);
    await lab.exec('lan', process.execPath, [BIN, 'map', '7001'], { env: state });
    const args = [
      BIN,
      'doctor',
      '7001',
      '--checker',
      `http://${PLAN.internetHost}:8080`,
      '--stun',
      PLAN.internetHost,
      '--json',
    ];
    const times: number[] = [];
    let last: { reachable: boolean; findings: { id: string; ms: number }[] } | undefined;
    for (let i = 0; i < RUNS; i++) {
      const run = await lab.exec('lan', process.execPath, args, { env: state, timeoutMs: 60_000 });
      times.push(run.ms);
      last = JSON.parse(run.stdout);
    }
    const peer = async (host: 'lan' | 'internet', command: string, peerArgs: string[]) => {
      const peerTimes: number[] = [];
      for (let i = 0; i < RUNS; i++)
        peerTimes.push((await lab.exec(host, command, peerArgs, { timeoutMs: 60_000 })).ms);
      return median(peerTimes);
    };
    const upnpc = await peer('lan', 'upnpc', ['-u', lab.addresses.igdDescriptionUrl, '-l']);
    const natdiscovery = await peer('lan', 'turnutils_natdiscovery', ['-m', '-f', PLAN.internetHost]);
    const nmap = await peer('internet', 'nmap', ['-sT', '-Pn', '-n', '-p', '7001', lab.addresses.publicIp]);
    // After the peers (nmap must see the mapping the doctor saw), expose on the same lab: maps,
    // verifies from outside (the router discovered once for the run), leaves the mapping in place
    // by design; unmapped between runs so each one maps.
    await lab.exec('lan', process.execPath, [BIN, 'unmap', '7001'], { env: state });
    const exposeTimes: number[] = [];
    let exposed: { reachable: boolean; road: string } | undefined;
    for (let i = 0; i < RUNS; i++) {
      const run = await lab.exec(
        'lan',
        process.execPath,
        [BIN, 'expose', '7001', '--checker', `http://${PLAN.internetHost}:8080`, '--stun', PLAN.internetHost, '--json'],
        { env: state, timeoutMs: 60_000 },
      );
      exposeTimes.push(run.ms);
      exposed = JSON.parse(run.stdout);
      await lab.exec('lan', process.execPath, [BIN, 'unmap', '7001'], { env: state });
    }
    const exposeMs = median(exposeTimes);
    const ours = median(times);
    const peers = upnpc + natdiscovery + nmap;
    return [
      title,
      '',
      `Home lab, all well (server on 7001, mapping made, checker and coturn on the internet host), from the LAN host,`,
      `median of ${RUNS} whole-process runs. The peers answer only parts of the question, one after another.`,
      '',
      '| tool | median | ratio |',
      '| --- | --- | --- |',
      `| \`porthole doctor 7001 --checker … --stun …\` | ${ms(ours)} | 1.00x |`,
      `| \`porthole expose 7001 --checker … --stun …\` (maps, proves, leaves the mapping) | ${ms(exposeMs)} | ${ratio(exposeMs, ours)} |`,
      `| \`upnpc -l\` | ${ms(upnpc)} | ${ratio(upnpc, ours)} |`,
      `| \`turnutils_natdiscovery -m -f\` | ${ms(natdiscovery)} | ${ratio(natdiscovery, ours)} |`,
      `| \`nmap -sT -p 7001\` (from the internet host) | ${ms(nmap)} | ${ratio(nmap, ours)} |`,
      `| the three peers in a row | ${ms(peers)} | ${ratio(peers, ours)} |`,
      '',
      `Last run's verdict: ${last?.reachable ? 'reachable' : 'NOT reachable'}; time per check (ms): ${(last?.findings ?? []).map((f) => `${f.id} ${f.ms}`).join(', ')}.`,
      'Checks run concurrently, so the whole is close to the slowest (the NAT behaviour tests).',
      '',
      `Target: under 3 s when all is well — ${ours < 3000 && last?.reachable ? 'met' : 'NOT met'}. Issue 23's target, at most 0.9x the`,
      `median before the run session (${ms(DOCTOR_BEFORE_MS)}, docs/BENCHMARKS.md of 2026-11-30): ${ratio(ours, DOCTOR_BEFORE_MS)} — ${ours <= 0.9 * DOCTOR_BEFORE_MS ? 'met' : 'NOT met'}.`,
      `expose's last run: ${exposed?.reachable ? 'reachable' : 'NOT reachable'} over the ${exposed?.road ?? '?'} road.`,
    ].join('\n');
  } finally {
    lab.stop();
  }
}
