/**
 * Issue 25's benchmark: discovery and mapping through two routers (a double NAT whose router in
 * front runs its own miniupnpd), beside a single-router `map` in the same lab and run. The whole
 * process is timed (what a user waits for); the target is at most 2x the single-router map.
 */
import { startLab } from '../lab/lab.js';
import { PLAN } from '../lab/topology.js';
import { median, ms, PORTHOLE_BIN, ratio } from './measure.js';

const RUNS = 7;
const BIN = PORTHOLE_BIN;
/** The lab's LAN and the router in front's: the only gateways the runs may ask. */
const GATEWAYS = `${PLAN.lanSubnet},${PLAN.outerSubnet}`;

/** The section for docs/BENCHMARKS.md. */
export async function benchDoubleNat(): Promise<string> {
  let lab: Awaited<ReturnType<typeof startLab>>;
  try {
    lab = await startLab({ topology: 'doublenat', privateWan: true, outerMapping: true });
  } catch (error) {
    return `## Double NAT, mapped on both routers (issue 25)\n\nNot measured: ${(error as Error).message}`;
  }
  try {
    const env = { XDG_STATE_HOME: `${lab.state.dir}/bench-state`, PORTHOLE_ONLY_GATEWAYS: GATEWAYS };
    const timed = async (args: string[]) => {
      const times: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const result = await lab.exec('lan', process.execPath, [BIN, ...args], { timeoutMs: 30_000, env });
        if (result.code !== 0) throw new Error(`porthole ${args.join(' ')} failed: ${result.stdout}${result.stderr}`);
        times.push(result.ms);
        // Undone between runs (both routers' mappings with --outer), outside the time.
        await lab.exec('lan', process.execPath, [BIN, 'unmap', '7001'], { timeoutMs: 30_000, env });
      }
      return median(times);
    };
    const single = await timed(['map', '7001', '--lease', '60']);
    const both = await timed(['map', '7001', '--lease', '60', '--outer', PLAN.outerInside]);
    const found = await timed(['map', '7001', '--lease', '60', '--outer']);
    const target = (value: number) => (value <= 2 * single ? 'met' : 'NOT met');
    return [
      '## Double NAT, mapped on both routers (issue 25)',
      '',
      `doublenat lab: the home router (miniupnpd 2.3.1, reporting its private WAN 192.168.1.2) behind a router in front that runs miniupnpd too; \`porthole map\` as a user runs it (the built CLI, whole process), median of ${RUNS} runs each, each run undone before the next.`,
      '',
      '| command | routers asked | median | ratio to single-router map |',
      '| --- | --- | --- | --- |',
      `| \`porthole map 7001\` | the home router | ${ms(single)} | 1.00x |`,
      `| \`porthole map 7001 --outer ${PLAN.outerInside}\` | both (discovery of the router in front at its address, then a mapping on each) | ${ms(both)} | ${ratio(both, single)} |`,
      `| \`porthole map 7001 --outer\` | both, the router in front found from the home router's WAN address | ${ms(found)} | ${ratio(found, single)} |`,
      '',
      `Target: through two routers at most 2x a single-router map: ${target(both)} (address given), ${target(found)} (found).`,
    ].join('\n');
  } finally {
    lab.stop();
  }
}
