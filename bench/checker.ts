/**
 * Issue 3's benchmarks: verdict time for one open and one closed port beside nmap -sT, the
 * filtered bound, and the check service's throughput for closed ports on loopback.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { startScratchNamespace } from '../lab/lab.js';
import { requestCheck } from '../src/checkerClient/index.js';
import { createLinuxHost } from '../src/host/index.js';
import { probeTcp, provePeers } from '../src/probe/index.js';
import { freePort } from '../test/support/ports.js';
import { median, medianAsyncMs, medianCommandMs, ms, PORTHOLE_BIN, peakRssMiB, ratio } from './measure.js';

const BIN = PORTHOLE_BIN;
const PROCESS_RUNS = 21;
const ENGINE_RUNS = 301;

async function startServe(port: number, data: string): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      BIN,
      'serve',
      '--listen',
      `127.0.0.1:${port}`,
      '--allow-targets',
      '127.0.0.0/8',
      '--data',
      data,
      '--log-level',
      'silent',
      '--rate-limit',
      '10000000',
      '--caller-concurrency',
      '10000',
      '--probe-timeout',
      '1000',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  await new Promise<void>((resolve, reject) => {
    let said = '';
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${said}`)), 15_000);
    child.once('exit', () => reject(new Error(`serve exited: ${said}`)));
    child.stderr?.on('data', (chunk: Buffer) => {
      said += chunk.toString();
      if (said.includes('listening on')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return child;
}

async function postCheck(url: string, ports: string): Promise<unknown> {
  const response = await fetch(`${url}/v1/check`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ports }),
  });
  return response.json();
}

/** Verdict times and the filtered bound; returns Markdown. */
async function verdictTimes(): Promise<string> {
  const listener = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const open = (listener.address() as AddressInfo).port;
  const closed = await freePort();
  const servePort = await freePort();
  const data = mkdtempSync(join(tmpdir(), 'porthole-bench-'));
  const serve = await startServe(servePort, data);
  const url = `http://127.0.0.1:${servePort}`;
  const rows: string[] = [];
  let identity = '';
  try {
    // Identity proof by connection (issue 12): the same check, then this host's socket table read.
    const plain = await medianAsyncMs(() => requestCheck(new URL(url), String(open), undefined), ENGINE_RUNS);
    const proven = await medianAsyncMs(async () => {
      const answer = await requestCheck(new URL(url), String(open), undefined);
      const { identities } = await provePeers(answer.results, (ports) => createLinuxHost().connections(ports));
      if (identities[0]?.seen !== true) throw new Error(`identity not proven: ${identities[0]?.evidence}`);
    }, ENGINE_RUNS);
    identity = `Identity proof (the checker's connection looked for in /proc/net/tcp): check alone ${ms(plain)}, check + proof ${ms(proven)}: adds ${ms(Math.max(0, proven - plain))} (target ≤ 50 ms: ${proven - plain <= 50 ? 'met' : 'NOT met'}).`;
    for (const [label, port] of [
      ['open', open],
      ['closed', closed],
    ] as const) {
      const nmap = medianCommandMs('nmap', ['-sT', '-Pn', '-n', '-p', String(port), '127.0.0.1'], PROCESS_RUNS);
      const cli = medianCommandMs(process.execPath, [BIN, 'probe', '127.0.0.1', String(port)], PROCESS_RUNS);
      await postCheck(url, String(port));
      const service = await medianAsyncMs(() => postCheck(url, String(port)), ENGINE_RUNS);
      const engine = await medianAsyncMs(() => probeTcp('127.0.0.1', port, { timeoutMs: 1000 }), ENGINE_RUNS);
      rows.push(
        `| ${label} | ${ms(nmap)} | ${ms(service)} (${ratio(service, nmap)}) | ${ms(engine)} (${ratio(engine, nmap)}) | ${ms(cli)} (${ratio(cli, nmap)}) |`,
      );
    }
  } finally {
    listener.close();
    serve.kill('SIGTERM');
    rmSync(data, { recursive: true, force: true });
  }
  const nodeStart = medianCommandMs(process.execPath, ['-e', '0'], PROCESS_RUNS);
  const filtered = await filteredBound();
  return [
    '### Verdict time for one port (loopback, median)',
    '',
    `nmap: \`nmap -sT -Pn -n -p PORT 127.0.0.1\`, whole process, ${PROCESS_RUNS} runs. Service: \`POST /v1/check\` to a running`,
    `\`porthole serve\` from a warm client (HTTP round trip + probe + SQLite record), ${ENGINE_RUNS} runs. Engine: \`probeTcp()\``,
    `in-process. CLI: \`porthole probe 127.0.0.1 PORT\`, whole process, ${PROCESS_RUNS} runs. Ratios are to nmap.`,
    '',
    '| port | nmap -sT | porthole service | porthole engine | porthole probe (CLI process) |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
    '',
    `The CLI figure is dominated by start-up: \`node -e 0\` alone takes ${ms(nodeStart)} here (measured in this run), so a cold`,
    '`porthole probe` process cannot come near nmap on loopback; the verdict itself (service and engine) does.',
    '',
    identity,
    '',
    filtered,
  ].join('\n');
}

/** A port whose SYNs are dropped (nft in a scratch namespace): the verdict is bounded by the deadline. */
async function filteredBound(): Promise<string> {
  let scratch: Awaited<ReturnType<typeof startScratchNamespace>> | undefined;
  try {
    scratch = await startScratchNamespace();
  } catch (error) {
    return `### Filtered bound\n\nNot measured: ${(error as Error).message} (needs root and network namespaces).`;
  }
  try {
    await scratch.exec('nft', ['-f', '-'], {
      input: 'table inet b { chain i { type filter hook input priority 0; tcp dport 9 drop; }; }\n',
    });
    const times: number[] = [];
    const nmapTimes: number[] = [];
    for (let i = 0; i < 5; i++) {
      const ours = await scratch.exec(process.execPath, [BIN, 'probe', '127.0.0.1', '9', '--timeout', '500', '--json']);
      times.push((JSON.parse(ours.stdout) as { results: { ms: number }[] }).results[0]?.ms ?? Number.NaN);
      const started = performance.now();
      await scratch.exec('nmap', ['-sT', '-Pn', '-n', '-p', '9', '127.0.0.1']);
      nmapTimes.push(performance.now() - started);
    }
    return [
      '### Filtered bound',
      '',
      'A port whose SYNs are dropped, in a scratch namespace, 5 runs each, median:',
      '',
      '| | verdict time |',
      '| --- | --- |',
      `| porthole probe --timeout 500 | ${ms(median(times))} (the deadline; state filtered) |`,
      `| nmap -sT (default timing, whole process) | ${ms(median(nmapTimes))} (it retransmits before saying filtered) |`,
    ].join('\n');
  } finally {
    scratch.stop();
  }
}

/** Throughput of closed-port checks on loopback; returns Markdown. */
async function throughput(): Promise<string> {
  const closed = await freePort();
  const servePort = await freePort();
  const data = mkdtempSync(join(tmpdir(), 'porthole-bench-'));
  const serve = await startServe(servePort, data);
  const duration = 10;
  const connections = 32;
  try {
    const result = await autocannon({
      url: `http://127.0.0.1:${servePort}/v1/check`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ports: String(closed) }),
      connections,
      duration,
    });
    const rss = peakRssMiB(serve.pid ?? 0);
    return [
      '### Check service throughput (closed ports, loopback)',
      '',
      `autocannon, ${connections} connections for ${duration} s against \`porthole serve\` (rate limit raised for the run),`,
      'each request one closed port (connect, RST, SQLite insert, metrics). Load generator and service share the 2 cores.',
      '',
      '| checks/s (mean) | latency p50 | latency p99 | non-2xx | errors | service peak RSS |',
      '| --- | --- | --- | --- | --- | --- |',
      `| ${Math.round(result.requests.average)} | ${result.latency.p50} ms | ${result.latency.p99} ms | ${result.non2xx} | ${result.errors} | ${rss} MiB |`,
      '',
      `Target: at least 500 checks/s — ${result.requests.average >= 500 ? 'met' : 'NOT met'}.`,
    ].join('\n');
  } finally {
    serve.kill('SIGTERM');
    rmSync(data, { recursive: true, force: true });
  }
}

/** The section for docs/BENCHMARKS.md. */
export async function benchChecker(): Promise<string> {
  return ['## Check service and probes (issue 3)', '', await verdictTimes(), '', await throughput()].join('\n');
}
