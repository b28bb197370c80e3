/** Issue 6's benchmark: a full `porthole nat` in the home lab beside turnutils_natdiscovery. */
import { startLab } from '../lab/lab.js';
import { median, ms, PORTHOLE_BIN, ratio } from './measure.js';

const RUNS = 5;
const BIN = PORTHOLE_BIN;

/** The section for docs/BENCHMARKS.md. */
export async function benchNat(): Promise<string> {
  let lab: Awaited<ReturnType<typeof startLab>>;
  try {
    lab = await startLab({ topology: 'home' });
  } catch (error) {
    return `## NAT diagnosis (issue 6)\n\nNot measured: ${(error as Error).message}`;
  }
  try {
    const time = async (command: string, args: string[]) => {
      const times: number[] = [];
      for (let i = 0; i < RUNS; i++) times.push((await lab.exec('lan', command, args, { timeoutMs: 60_000 })).ms);
      return median(times);
    };
    const ours = await time(process.execPath, [BIN, 'nat', '--stun', lab.addresses.internet]);
    const theirs = await time('turnutils_natdiscovery', ['-m', '-f', lab.addresses.internet]);
    return [
      '## NAT diagnosis (issue 6)',
      '',
      `Home lab, coturn on two addresses, from the LAN host, median of ${RUNS} runs (whole processes).`,
      '`porthole nat` also asks the router (NAT-PMP/PCP/UPnP), traces the path and tests hairpinning;',
      'turnutils_natdiscovery runs the mapping and filtering tests one after another and waits out each silent test.',
      '',
      '| tool | median | ratio |',
      '| --- | --- | --- |',
      `| \`porthole nat --stun ${lab.addresses.internet}\` | ${ms(ours)} | 1.00x |`,
      `| \`turnutils_natdiscovery -m -f\` | ${ms(theirs)} | ${ratio(theirs, ours)} |`,
      '',
      `Target: under 2 s — ${ours < 2000 ? 'met' : 'NOT met'}.`,
    ].join('\n');
  } finally {
    lab.stop();
  }
}
