/**
 * Issue 16's benchmark, in the home lab: an IPv6 pinhole opened by a whole `porthole map
 * --family ipv6` process (discovery included) beside `upnpc -6 -A` (which is given the IGD's
 * address), and a UDP check of three ports beside `nmap -sU`, with the verdicts compared.
 */
import type { Lab } from '../lab/lab.js';
import { startLab } from '../lab/lab.js';
import { median, ms, PORTHOLE_BIN, ratio } from './measure.js';

const RUNS = 5;
const BIN = PORTHOLE_BIN;
/** The lab's LAN on both families: discovery may probe only these. */
const LAB_GATEWAYS = '192.168.77.0/24,2001:db8:77::/64';
const UDP_PORTS = [5800, 5801, 5802] as const;

/** The section for docs/BENCHMARKS.md. */
export async function benchIpv6(): Promise<string> {
  let lab: Lab;
  try {
    lab = await startLab({ topology: 'home' });
  } catch (error) {
    return `## IPv6 pinholes and UDP checks (issue 16)\n\nNot measured: ${(error as Error).message}`;
  }
  try {
    const env = { XDG_STATE_HOME: `${lab.state.dir}/bench-state`, PORTHOLE_ONLY_GATEWAYS: LAB_GATEWAYS };
    const porthole = (host: 'lan' | 'lan2' | 'internet', args: string[]) =>
      lab.exec(host, process.execPath, [BIN, ...args], { timeoutMs: 60_000, env });

    // Pinholes: open (timed), then close (not timed), RUNS times each.
    const ours: number[] = [];
    const theirs: number[] = [];
    const url = `http://[${lab.addresses.routerLan6}]:5000/rootDesc.xml`;
    for (let i = 0; i < RUNS; i++) {
      const opened = await porthole('lan', ['map', '7001', '--family', 'ipv6', '--json']);
      if (opened.code !== 0) throw new Error(`porthole map failed: ${opened.stdout}${opened.stderr}`);
      ours.push(opened.ms);
      await porthole('lan', ['unmap', '7001', '--family', 'ipv6']);
      const added = await lab.exec('lan', 'upnpc', [
        '-6',
        '-u',
        url,
        '-A',
        '',
        '0',
        lab.addresses.lan6,
        '7001',
        'tcp',
        '600',
      ]);
      const id = /Pinhole ID = (\d+)/.exec(added.stdout)?.[1];
      if (!id) throw new Error(`upnpc -6 -A failed: ${added.stdout}${added.stderr}`);
      theirs.push(added.ms);
      await lab.exec('lan', 'upnpc', ['-6', '-u', url, '-D', id]);
    }
    // The same in one process (the library call a vendor makes), without Node's start-up.
    const gatewayModule = new URL('../dist/src/gateway/index.js', import.meta.url).href;
    const script = `const { mapPinhole, pinholeClientFor } = await import(${JSON.stringify(gatewayModule)});
const times = [];
for (let i = 0; i < ${RUNS}; i++) {
  const started = performance.now();
  const { gateway, mapping } = await mapPinhole({ protocol: 'tcp', internalPort: 7001, lifetimeSeconds: 600, description: 'bench' });
  times.push(performance.now() - started);
  await pinholeClientFor(gateway, mapping.method).unmap(mapping);
}
console.log(JSON.stringify(times));`;
    const inProcess = await lab.exec('lan', process.execPath, ['--input-type=module', '-e', script], {
      timeoutMs: 60_000,
      env,
    });
    const libraryMs = median(JSON.parse(inProcess.stdout || '[NaN]') as number[]);
    const pinholeOurs = median(ours);
    const pinholeTheirs = median(theirs);

    // UDP: 5800 forwarded to an answering server, 5801 not forwarded (dropped), 5802 to lan2 (closed).
    lab.startBackground('lan', 'bench-udp-echo', 'socat', ['UDP-RECVFROM:5800,fork', 'SYSTEM:echo pong']);
    await porthole('lan', ['map', '5800/udp']);
    await porthole('lan2', ['map', '5802/udp']);
    const spec = UDP_PORTS.map((port) => `${port}/udp`).join(',');
    const udpOurs: number[] = [];
    const udpTheirs: number[] = [];
    let ourStates = '';
    let theirStates = '';
    for (let i = 0; i < RUNS; i++) {
      const probed = await porthole('internet', ['probe', lab.addresses.publicIp, spec, '--json']);
      udpOurs.push(probed.ms);
      ourStates = (JSON.parse(probed.stdout) as { results: { port: number; state: string }[] }).results
        .map((r) => `${r.port}:${r.state}`)
        .join(' ');
      const scanned = await lab.exec(
        'internet',
        'nmap',
        ['-sU', '-Pn', '-n', '-p', UDP_PORTS.join(','), '-oG', '-', lab.addresses.publicIp],
        { timeoutMs: 120_000 },
      );
      udpTheirs.push(scanned.ms);
      theirStates = [...scanned.stdout.matchAll(/(\d+)\/(open\|filtered|open|closed|filtered)\/udp/g)]
        .map((m) => `${m[1]}:${m[2]}`)
        .join(' ');
    }
    const udpOur = median(udpOurs);
    const udpTheir = median(udpTheirs);
    return [
      '## IPv6 pinholes and UDP checks (issue 16)',
      '',
      `Home lab, from the LAN host (pinholes) and the internet host (UDP), median of ${RUNS} runs (whole processes).`,
      '`porthole map --family ipv6` finds the IPv6 gateway (PCP ANNOUNCE and SSDP at once) and opens the pinhole',
      'with PCP; `upnpc -6 -A` is given the description URL, so it skips discovery.',
      '',
      '| what | porthole | peer | ratio (peer/porthole) |',
      '| --- | --- | --- | --- |',
      `| IPv6 pinhole, discover + open | ${ms(pinholeOurs)} | \`upnpc -6 -u URL -A\` ${ms(pinholeTheirs)} | ${ratio(pinholeTheirs, pinholeOurs)} |`,
      `| IPv6 pinhole, discover + open, in one process (\`mapPinhole\`) | ${ms(libraryMs)} | \`upnpc -6 -u URL -A\` ${ms(pinholeTheirs)} | ${ratio(pinholeTheirs, libraryMs)} |`,
      `| UDP, 3 ports (${spec}) | ${ms(udpOur)} | \`nmap -sU\` ${ms(udpTheir)} | ${ratio(udpTheir, udpOur)} |`,
      '',
      `UDP verdicts: porthole \`${ourStates}\`; nmap \`${theirStates}\` (${ourStates === theirStates ? 'the same' : 'different'}).`,
      `Targets: pinhole at most 1.0x upnpc's time — whole process ${pinholeOurs <= pinholeTheirs ? 'met' : 'NOT met'} (Node's start-up alone is longer than upnpc's run), in one process ${libraryMs <= pinholeTheirs ? 'met' : 'NOT met'}; UDP at most 0.5x nmap's — ${udpOur <= udpTheir * 0.5 ? 'met' : 'NOT met'}.`,
    ].join('\n');
  } finally {
    lab.stop();
  }
}
