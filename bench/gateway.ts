/** Issue 5's benchmark: discover and map in the home lab, beside upnpc and natpmpc. */
import { startLab } from '../lab/lab.js';
import { median, ms, PORTHOLE_BIN, ratio } from './measure.js';

const RUNS = 11;
const BIN = PORTHOLE_BIN;
const FIXTURE = new URL('./fixtures/discoverAndMap.ts', import.meta.url).pathname;

/** The section for docs/BENCHMARKS.md. */
export async function benchGateway(): Promise<string> {
  let lab: Awaited<ReturnType<typeof startLab>>;
  try {
    lab = await startLab({ topology: 'home' });
  } catch (error) {
    return `## Router mapping (issue 5)\n\nNot measured: ${(error as Error).message}`;
  }
  try {
    const timed = async (command: string, args: string[], cleanup?: [string, string[]], mayFail = false) => {
      const times: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const result = await lab.exec('lan', command, args, { timeoutMs: 30_000 });
        if (result.code !== 0 && !mayFail) throw new Error(`${command} failed: ${result.stdout}${result.stderr}`);
        times.push(result.ms);
        if (cleanup) await lab.exec('lan', cleanup[0], cleanup[1]);
      }
      return median(times);
    };
    const url = lab.addresses.igdDescriptionUrl;
    const engine = await lab.exec('lan', process.execPath, ['--import', 'tsx', FIXTURE, String(RUNS)], {
      timeoutMs: 60_000,
    });
    const engineMedian = median(JSON.parse(engine.stdout) as number[]);
    const cli = await timed(
      process.execPath,
      [BIN, 'map', '7001', '--lease', '60'],
      [process.execPath, [BIN, 'unmap', '7001']],
    );
    // upnpc then refuses the IGD (its external address is in a reserved range): the time is its discovery.
    const upnpcDiscover = await timed('upnpc', ['-a', lab.addresses.lan, '7001', '7001', 'TCP', '60'], undefined, true);
    const upnpcDirect = await timed(
      'upnpc',
      ['-u', url, '-a', lab.addresses.lan, '7001', '7001', 'TCP', '60'],
      ['upnpc', ['-u', url, '-d', '7001', 'TCP']],
    );
    const natpmpc = await timed(
      'natpmpc',
      ['-g', lab.addresses.routerLan, '-a', '7001', '7001', 'tcp', '60'],
      ['natpmpc', ['-g', lab.addresses.routerLan, '-a', '7001', '0', 'tcp', '0']],
    );
    // A refused low port (miniupnpd's default rules refuse ports below 1024): porthole asks UPnP
    // first and answers at once; then another client must get an answer from the router in < 1 s.
    const refused = await timed(process.execPath, [BIN, 'map', '80'], undefined, true);
    const upnpcRefused = await timed(
      'upnpc',
      ['-u', url, '-a', lab.addresses.lan, '80', '80', 'TCP', '60'],
      undefined,
      true,
    );
    const afterRefusal: number[] = [];
    for (let i = 0; i < 5; i++) {
      await lab.exec('lan', process.execPath, [BIN, 'map', '80'], { timeoutMs: 30_000 });
      afterRefusal.push((await lab.exec('lan2', 'natpmpc', ['-g', lab.addresses.routerLan], { timeoutMs: 30_000 })).ms);
    }
    const routerAnswers = Math.max(...afterRefusal);
    return [
      '## Router mapping (issue 5)',
      '',
      `Home lab (real miniupnpd 2.3.1 with UPnP IGD, NAT-PMP and PCP), from the LAN host, median of ${RUNS} runs each.`,
      'porthole discovers with one probe (NAT-PMP, PCP ANNOUNCE and SSDP at once) and maps with the best protocol (PCP here).',
      '',
      '| tool | discovers? | median | ratio to porthole engine |',
      '| --- | --- | --- | --- |',
      `| porthole engine (\`discoverPrimaryGateway\` + \`mapWithBest\`, in-process) | yes | ${ms(engineMedian)} | 1.00x |`,
      `| \`porthole map 7001\` (whole process) | yes | ${ms(cli)} | ${ratio(cli, engineMedian)} |`,
      `| \`upnpc -a\` | yes (waits 2 s for SSDP; then refuses the lab IGD's reserved external address) | ${ms(upnpcDiscover)} | ${ratio(upnpcDiscover, engineMedian)} |`,
      `| \`upnpc -u URL -a\` | no (URL given) | ${ms(upnpcDirect)} | ${ratio(upnpcDirect, engineMedian)} |`,
      `| \`natpmpc -a\` | no (gateway given) | ${ms(natpmpc)} | ${ratio(natpmpc, engineMedian)} |`,
      '',
      `Target: discover and map under 250 ms median — engine ${engineMedian < 250 ? 'met' : 'NOT met'}, whole process ${cli < 250 ? 'met' : 'NOT met'}.`,
      '',
      '### A refused port below 1024 (issue 12)',
      '',
      '| tool | median | note |',
      '| --- | --- | --- |',
      `| \`porthole map 80\` (whole process, discovery included) | ${ms(refused)} | refused, with the way out (\`--external 8080\`) |`,
      `| \`upnpc -u URL -a ... 80 80 TCP\` (URL given) | ${ms(upnpcRefused)} | 606 Action not authorized |`,
      `| another client's \`natpmpc\` right after \`porthole map 80\` (worst of 5) | ${ms(routerAnswers)} | the router is not left stalled |`,
      '',
      `Targets: refusal within 2 s — ${refused <= 2000 ? 'met' : 'NOT met'}; the router answers others within 1 s afterwards — ${routerAnswers <= 1000 ? 'met' : 'NOT met'}.`,
    ].join('\n');
  } finally {
    lab.stop();
  }
}
