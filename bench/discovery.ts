/**
 * Issue 17's benchmark: time to find every discovery responder of the lab (avahi-daemon,
 * minidlna, wsdd, the ONVIF camera on lan2) from lan, `porthole discover` beside the peers run
 * one after the other: `avahi-browse -art` (mDNS) and `gssdp-discover --timeout` (SSDP).
 */
import { DISCOVERY_LAB, startDiscoveryResponders } from '../lab/discovery.js';
import { startLab } from '../lab/lab.js';
import { median, ms, PORTHOLE_BIN, ratio } from './measure.js';

const RUNS = 5;
const BIN = PORTHOLE_BIN;
/** gssdp-discover waits a whole number of seconds; 1 is its shortest useful wait. */
const GSSDP_SECONDS = 1;

interface Answer {
  protocol: string;
  name: string;
  address: string;
  ms: number;
}

/** The section for docs/BENCHMARKS.md. */
export async function benchDiscovery(): Promise<string> {
  const title = '## LAN discovery (issue 17)';
  let lab: Awaited<ReturnType<typeof startLab>>;
  try {
    lab = await startLab({ topology: 'home' });
  } catch (error) {
    return `${title}\n\nNot measured: ${(error as Error).message}`;
  }
  try {
    const responders = await startDiscoveryResponders(lab);
    const lan2 = lab.addresses.lan2;
    const oursWall: number[] = [];
    const oursFound: number[] = [];
    let complete = 0;
    for (let i = 0; i < RUNS; i++) {
      const result = await lab.exec('lan', process.execPath, [BIN, 'discover', '--json'], { timeoutMs: 30_000 });
      oursWall.push(result.ms);
      const answers = (JSON.parse(result.stdout || '{"answers":[]}') as { answers: Answer[] }).answers.filter(
        (a) => a.address === lan2,
      );
      // Every responder: avahi's service, minidlna's root device, wsdd and the camera.
      const wanted = [
        answers.find((a) => a.protocol === 'mdns' && a.name === DISCOVERY_LAB.mdnsName),
        answers.find((a) => a.protocol === 'ssdp' && a.name.includes(DISCOVERY_LAB.minidlnaUuid)),
        answers.find((a) => a.protocol === 'wsd' && a.name.includes(DISCOVERY_LAB.wsddUuid)),
        answers.find((a) => a.protocol === 'wsd' && !a.name.includes(DISCOVERY_LAB.wsddUuid)),
      ];
      if (wanted.every(Boolean)) complete++;
      oursFound.push(Math.max(...wanted.map((a) => a?.ms ?? Number.NaN)));
    }
    // Node and the CLI frame alone, so the discovery's own share of the wall time is visible.
    const startup: number[] = [];
    for (let i = 0; i < RUNS; i++) startup.push((await lab.exec('lan', process.execPath, [BIN, '--version'])).ms);
    const avahi: number[] = [];
    const gssdp: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      avahi.push(
        (
          await lab.exec('lan', 'avahi-browse', ['-art'], {
            env: { DBUS_SYSTEM_BUS_ADDRESS: responders.avahiClient.busAddress },
            timeoutMs: 30_000,
          })
        ).ms,
      );
      gssdp.push(
        (
          await lab.exec('lan', 'gssdp-discover', ['-i', 'eth0', '--timeout', String(GSSDP_SECONDS)], {
            timeoutMs: 30_000,
          })
        ).ms,
      );
    }
    const ours = median(oursWall);
    const peers = median(avahi) + median(gssdp);
    return [
      title,
      '',
      `Home lab, responders on lan2 (avahi-daemon with one service, minidlna, wsdd, the ONVIF camera fixture), asked from lan;`,
      `median of ${RUNS} runs, whole processes. \`porthole discover\` asks all three protocols at once and ends 400 ms after`,
      'the last new answer, never before SSDP\'s MX (1 s) + 100 ms, at most 1.5 s; "found all" is when the last of the four',
      'responders answered (the `ms` of its JSON answer). The peers wait fixed times: avahi-browse until its cache dump is',
      '"all for now", gssdp-discover for whole seconds.',
      'The peers cover mDNS and SSDP only (no peer speaks ONVIF WS-Discovery).',
      '',
      '| tool | median | ratio |',
      '| --- | --- | --- |',
      `| \`porthole discover\` (wall) | ${ms(ours)} | 1.00x |`,
      `| \`porthole discover\`: all four found after | ${ms(median(oursFound))} | ${ratio(median(oursFound), ours)} |`,
      `| \`porthole --version\` (Node start-up alone) | ${ms(median(startup))} | ${ratio(median(startup), ours)} |`,
      `| \`avahi-browse -art\` | ${ms(median(avahi))} | ${ratio(median(avahi), ours)} |`,
      `| \`gssdp-discover --timeout ${GSSDP_SECONDS}\` | ${ms(median(gssdp))} | ${ratio(median(gssdp), ours)} |`,
      `| peers one after the other | ${ms(peers)} | ${ratio(peers, ours)} |`,
      '',
      `All four responders found in ${complete} of ${RUNS} runs.`,
      `Targets: at most 0.5x the peers' sum — ${ours <= peers * 0.5 ? 'met' : `NOT met (${(ours / peers).toFixed(2)}x)`}; under 2 s wall — ${ours < 2000 ? 'met' : 'NOT met'}.`,
    ].join('\n');
  } finally {
    lab.stop();
  }
}
