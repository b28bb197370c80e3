/**
 * Issue 15's benchmarks, in the home lab with BIND 9 behind: one RFC 2136 update, porthole
 * beside nsupdate (whole processes, and porthole in-process); one dyndns2 update, porthole
 * beside ddclient (whole processes) against `porthole serve --dns-zone`; and the name service
 * under load (updates per second, p99). Every loop is bounded in count.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DNS_ZONE, startBind } from '../lab/dns.js';
import { type Lab, startLab } from '../lab/lab.js';
import { PLAN } from '../lab/topology.js';
import { sleep } from '../src/deadline/index.js';
import { hashPassword } from '../src/dns/index.js';
import { median, ms, PORTHOLE_BIN, ratio } from './measure.js';

const RUNS = 7;
const IN_PROCESS_RUNS = 50;
const LOAD_REQUESTS = 2000;
const LOAD_CONCURRENCY = 32;
const LOAD_NAMES = 200;
const BIN = PORTHOLE_BIN;
const DNS_FACE = new URL('../dist/src/dns/index.js', import.meta.url).href;

/** An address that differs each run, so every run really changes the record. */
const addressFor = (i: number) => `198.51.100.${(i % 250) + 1}`;

async function timeRuns(lab: Lab, make: (i: number) => [string, string[], string?]): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const [command, args, input] = make(i);
    const run = await lab.exec('lan', command, args, { timeoutMs: 60_000, ...(input ? { input } : {}) });
    if (run.code !== 0) throw new Error(`${command} failed: ${run.stdout}${run.stderr}`);
    times.push(run.ms);
  }
  return median(times);
}

/** Runs an ES module script with node inside the LAN host and returns its stdout (JSON). */
async function nodeScript(lab: Lab, source: string, timeoutMs = 120_000): Promise<unknown> {
  const run = await lab.exec('lan', process.execPath, ['--input-type=module', '-e', source], { timeoutMs });
  if (run.code !== 0) throw new Error(`in-namespace script failed: ${run.stderr}`);
  return JSON.parse(run.stdout);
}

/** The section for docs/BENCHMARKS.md. */
export async function benchDns(): Promise<string> {
  let lab: Lab;
  try {
    lab = await startLab({ topology: 'home' });
  } catch (error) {
    return `## DNS names (issue 15)\n\nNot measured: ${(error as Error).message}`;
  }
  try {
    const bind = await startBind(lab);
    const server = bind.address;
    // 1. One RFC 2136 update: whole processes.
    const portholeCli = await timeRuns(lab, (i) => [
      process.execPath,
      [
        BIN,
        'name',
        'set',
        `bench.${DNS_ZONE}`,
        '--rfc2136',
        server,
        '--tsig-key',
        bind.keyFile,
        '--zone',
        DNS_ZONE,
        '--ip',
        addressFor(i),
        '--data',
        join(lab.state.dir, 'bench-state'),
      ],
    ]);
    const nsupdate = await timeRuns(lab, (i) => [
      'nsupdate',
      ['-k', bind.keyFile],
      `server ${server}\nzone ${DNS_ZONE}\nupdate delete ns.${DNS_ZONE} A\nupdate add ns.${DNS_ZONE} 60 A ${addressFor(i)}\nsend\n`,
    ]);
    // In-process: the same signed update, the module loaded once.
    const inProcess = (await nodeScript(
      lab,
      `import { readTsigKeyFile, sendUpdate, replaceRRset } from ${JSON.stringify(DNS_FACE)};
       const key = await readTsigKeyFile(${JSON.stringify(bind.keyFile)});
       const times = [];
       for (let i = 0; i < ${IN_PROCESS_RUNS}; i++) {
         const t = performance.now();
         await sendUpdate({ address: ${JSON.stringify(server)}, port: 53 }, key,
           { zone: ${JSON.stringify(DNS_ZONE)}, changes: replaceRRset('inproc.${DNS_ZONE}', 'A', ['198.51.100.' + (i % 250 + 1)], 60) });
         times.push(performance.now() - t);
       }
       times.sort((a, b) => a - b);
       console.log(JSON.stringify({ median: times[Math.floor(times.length / 2)] }));`,
    )) as { median: number };

    // 2. One dyndns2 update against porthole serve --dns-zone, whole processes.
    const dir = join(lab.state.dir, 'bench-dyndns2');
    mkdirSync(dir, { recursive: true });
    const names = Array.from({ length: LOAD_NAMES }, (_, i) => `load${i}.${DNS_ZONE}`);
    writeFileSync(
      join(dir, 'users.json'),
      JSON.stringify({
        users: [
          {
            user: 'bench',
            password: await hashPassword('bench-pw'),
            names: [`dd.${DNS_ZONE}`, `ph.${DNS_ZONE}`, ...names],
            trusted: true,
          },
        ],
      }),
      { mode: 0o600 },
    );
    writeFileSync(join(dir, 'password'), 'bench-pw\n', { mode: 0o600 });
    const listen = `${PLAN.internetHost}:8053`;
    await lab.startBackgroundUntil(
      'internet',
      'bench-name-service',
      process.execPath,
      [
        BIN,
        'serve',
        '--listen',
        listen,
        '--data',
        join(dir, 'data'),
        '--dns-zone',
        DNS_ZONE,
        '--dns-server',
        server,
        '--tsig-key',
        bind.keyFile,
        '--dns-users',
        join(dir, 'users.json'),
        '--dns-rate-limit',
        '1000000',
        '--log-level',
        'silent',
      ],
      'listening on',
    );
    const portholeDyndns2 = await timeRuns(lab, (i) => [
      process.execPath,
      [
        BIN,
        'name',
        'set',
        `ph.${DNS_ZONE}`,
        '--dyndns2',
        `http://${listen}/nic/update`,
        '--user',
        'bench',
        '--password-file',
        join(dir, 'password'),
        '--ip',
        addressFor(i),
        '--data',
        join(dir, `state-${i}`),
      ],
    ]);
    const ddclient = await timeRuns(lab, (i) => {
      const conf = join(dir, `ddclient-${i}.conf`);
      writeFileSync(
        conf,
        `daemon=0\nsyslog=no\nssl=no\nuse=ip, ip=${addressFor(i)}\nprotocol=dyndns2\nserver=${listen}\nlogin=bench\npassword='bench-pw'\ndd.${DNS_ZONE}\n`,
        { mode: 0o600 },
      );
      return ['ddclient', ['-daemon=0', '-foreground', '-force', '-file', conf, '-cache', join(dir, `cache-${i}`)]];
    });

    // 3. The name service under load: each request changes one of many names (a real update).
    await sleep(200);
    const before = bind.updatesReceived();
    const load = (await nodeScript(
      lab,
      `const auth = 'Basic ' + Buffer.from('bench:bench-pw').toString('base64');
       const names = ${JSON.stringify(names)};
       const latencies = [];
       let next = 0, good = 0, other = 0;
       const started = performance.now();
       async function worker() {
         for (;;) {
           const i = next++;
           if (i >= ${LOAD_REQUESTS}) return;
           const ip = '198.51.100.' + ((Math.floor(i / names.length) % 250) + 1);
           const t = performance.now();
           const r = await fetch('http://${listen}/nic/update?hostname=' + names[i % names.length] + '&myip=' + ip,
             { headers: { authorization: auth, 'user-agent': 'porthole-bench/1' } });
           const body = await r.text();
           latencies.push(performance.now() - t);
           if (body.startsWith('good')) good++; else other++;
         }
       }
       await Promise.all(Array.from({ length: ${LOAD_CONCURRENCY} }, worker));
       const seconds = (performance.now() - started) / 1000;
       latencies.sort((a, b) => a - b);
       console.log(JSON.stringify({ rate: ${LOAD_REQUESTS} / seconds, p50: latencies[Math.floor(latencies.length * 0.5)],
         p99: latencies[Math.floor(latencies.length * 0.99)], good, other }));`,
      300_000,
    )) as { rate: number; p50: number; p99: number; good: number; other: number };
    await sleep(500);
    const applied = bind.updatesReceived() - before;

    return [
      '## DNS names (issue 15)',
      '',
      `Home lab, BIND 9 primary for ${DNS_ZONE} in the internet host, clients on the LAN host behind the NAT;`,
      `median of ${RUNS} runs, each run changing the address so every run is a real, signed update.`,
      '',
      '| one RFC 2136 update | median | ratio to nsupdate |',
      '| --- | --- | --- |',
      `| \`porthole name set --rfc2136\` (whole process; also asks BIND for the current record first) | ${ms(portholeCli)} | ${ratio(portholeCli, nsupdate)} |`,
      `| \`nsupdate -k\` (whole process) | ${ms(nsupdate)} | 1.00x |`,
      `| porthole \`sendUpdate\` in-process (median of ${IN_PROCESS_RUNS}) | ${ms(inProcess.median)} | ${ratio(inProcess.median, nsupdate)} |`,
      '',
      `Goal: the CLI at most 1.0x nsupdate's whole-process time — ${portholeCli <= nsupdate ? 'met' : 'NOT met'}.`,
      '',
      '| one dyndns2 update (against `porthole serve --dns-zone`) | median | ratio to ddclient |',
      '| --- | --- | --- |',
      `| \`porthole name set --dyndns2\` (whole process) | ${ms(portholeDyndns2)} | ${ratio(portholeDyndns2, ddclient)} |`,
      `| \`ddclient -daemon=0 -force\` (whole process) | ${ms(ddclient)} | 1.00x |`,
      '',
      `Goal: at most 0.5x ddclient — ${portholeDyndns2 <= ddclient * 0.5 ? 'met' : 'NOT met'}.`,
      '',
      `Name service under load: ${LOAD_REQUESTS} requests from ${LOAD_CONCURRENCY} concurrent clients, each changing one of`,
      `${LOAD_NAMES} names (authoritative lookup + signed UPDATE to BIND per request): **${load.rate.toFixed(0)} updates/s**,`,
      `p50 ${ms(load.p50)}, p99 ${ms(load.p99)}; ${load.good} answered good, ${load.other} otherwise; BIND received them in ${applied} UPDATE messages (changes that arrive while one is in flight go together in the next).`,
      `Goal: at least 500/s — ${load.rate >= 500 ? 'met' : 'NOT met'}.`,
    ].join('\n');
  } finally {
    lab.stop();
  }
}

// Run alone: `node --import tsx bench/dns.ts` (after `npm run build`).
if (import.meta.url === `file://${process.argv[1]}`) process.stdout.write(`${await benchDns()}\n`);
