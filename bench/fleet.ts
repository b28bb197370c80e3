/**
 * Issue 18's benchmarks, on loopback NATS: the latency a fleet adds to one check (front + 3
 * vantages against one `porthole serve`), and checks/s with 1, 2 and 3 vantages sharing one
 * region's queue group behind one front (closed ports). Every process is started here and
 * stopped at the end; every loop is bounded.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { freePort } from '../test/support/ports.js';
import { ms, PORTHOLE_BIN } from './measure.js';

const BIN = PORTHOLE_BIN;
const LATENCY_RUNS = 301;
const THROUGHPUT_SECONDS = 5;
const CONNECTIONS = 32;
const UNLIMITED = ['--rate-limit', '10000000', '--caller-concurrency', '10000'];

/** Starts a process and waits (bounded: 20 s) until its output says `ready`. */
async function startUntil(command: string, args: readonly string[], ready: string): Promise<ChildProcess> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    let said = '';
    const timer = setTimeout(() => reject(new Error(`${command} did not start: ${said}`)), 20_000);
    child.once('exit', () => {
      clearTimeout(timer);
      reject(new Error(`${command} exited: ${said}`));
    });
    const hear = (chunk: Buffer) => {
      said += chunk.toString();
      if (said.includes(ready)) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve();
      }
    };
    child.stdout?.on('data', hear);
    child.stderr?.on('data', hear);
  });
  return child;
}

/** A fleet on loopback: nats-server, one front, vantages started on demand. */
interface LoopbackFleet {
  readonly url: string;
  addVantage(name: string, region: string): Promise<void>;
  stop(): void;
}

async function startFleet(jetstream: boolean): Promise<LoopbackFleet> {
  const dir = mkdtempSync(join(tmpdir(), 'porthole-bench-fleet-'));
  const children: ChildProcess[] = [];
  const stop = () => {
    for (const child of children) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const natsPort = await freePort();
    const nats = `nats://127.0.0.1:${natsPort}`;
    children.push(
      await startUntil(
        'nats-server',
        ['-a', '127.0.0.1', '-p', String(natsPort), ...(jetstream ? ['-js', '-sd', join(dir, 'js')] : [])],
        'Server is ready',
      ),
    );
    const httpPort = await freePort();
    const key = join(dir, 'front.key');
    children.push(
      await startUntil(
        process.execPath,
        [
          BIN,
          'serve',
          '--nats',
          nats,
          '--front',
          '--signing-key',
          key,
          '--listen',
          `127.0.0.1:${httpPort}`,
          '--log-level',
          'silent',
          '--probe-timeout',
          '1000',
          // The load generator plays many callers through X-Forwarded-For (see closedThroughput).
          '--trust-proxy',
          '127.0.0.1/32',
          '--allow-targets',
          '127.0.0.0/8',
          ...UNLIMITED,
        ],
        'fleet front listening on',
      ),
    );
    return {
      url: `http://127.0.0.1:${httpPort}`,
      async addVantage(name, region) {
        children.push(
          await startUntil(
            process.execPath,
            [
              BIN,
              'serve',
              '--nats',
              nats,
              '--vantage',
              name,
              '--region',
              region,
              '--front-key',
              `${key}.pub`,
              '--allow-targets',
              '127.0.0.0/8',
              ...UNLIMITED,
            ],
            'serving checks from',
          ),
        );
        // The front hears the first heartbeat at once; give it a moment on a busy machine.
        await new Promise((resolve) => setTimeout(resolve, 300));
      },
      stop,
    };
  } catch (error) {
    stop();
    throw error;
  }
}

async function startSingle(): Promise<{ url: string; stop(): void }> {
  const dir = mkdtempSync(join(tmpdir(), 'porthole-bench-single-'));
  const port = await freePort();
  const child = await startUntil(
    process.execPath,
    [
      BIN,
      'serve',
      '--listen',
      `127.0.0.1:${port}`,
      '--allow-targets',
      '127.0.0.0/8',
      '--data',
      dir,
      '--log-level',
      'silent',
      ...UNLIMITED,
    ],
    'listening on',
  );
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () => {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/** p50 and p99 of a list of round-trip times, and whether every answer was complete. */
interface Latency {
  readonly p50: number;
  readonly p99: number;
  answered: boolean;
}

/** One check of `port`: its round-trip time, and whether it came back open (from every vantage). */
async function timedCheck(url: string, port: number): Promise<{ ms: number; complete: boolean }> {
  const started = performance.now();
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ports: String(port) }),
  });
  const body = (await response.json()) as { results?: { state: string }[]; combined?: { unknown: string[] } };
  const complete = body.results?.[0]?.state === 'open' && (body.combined?.unknown.length ?? 0) === 0;
  return { ms: performance.now() - started, complete };
}

/**
 * Sequential checks from a warm client, taking the services in turn so that load from other
 * work on the machine falls on all of them alike.
 */
async function interleaved(urls: readonly string[], port: number): Promise<Latency[]> {
  const times: number[][] = urls.map(() => []);
  const complete = urls.map(() => true);
  for (let i = 0; i < LATENCY_RUNS; i++) {
    for (const [which, url] of urls.entries()) {
      const { ms: took, complete: whole } = await timedCheck(url, port);
      // The first few warm up the JIT and connections.
      if (i >= 10) times[which]?.push(took);
      if (!whole) complete[which] = false;
    }
  }
  return urls.map((_url, which) => ({
    p50: percentile(times[which] ?? [], 50),
    p99: percentile(times[which] ?? [], 99),
    answered: complete[which] ?? false,
  }));
}

async function fanOutLatency(): Promise<string> {
  const listener = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const open = (listener.address() as AddressInfo).port;
  const single = await startSingle();
  const fleets: LoopbackFleet[] = [];
  let figures: Latency[];
  try {
    // With JetStream (shared KV limits) and without (limits per front), to show what KV costs.
    for (const jetstream of [true, false]) {
      const fleet = await startFleet(jetstream);
      fleets.push(fleet);
      for (const [name, region] of [
        ['v1', 'eu'],
        ['v2', 'us'],
        ['v3', 'ap'],
      ] as const) {
        await fleet.addVantage(`${name}${jetstream ? 'k' : 'l'}`, region);
      }
    }
    figures = await interleaved(
      [`${single.url}/v1/check`, ...fleets.map((fleet) => `${fleet.url}/v1/check?vantage=all`)],
      open,
    );
  } finally {
    for (const fleet of fleets) fleet.stop();
    single.stop();
    listener.close();
  }
  const [singleFigures, fleetFigures, localFigures] = figures as [Latency, Latency, Latency];
  const added = fleetFigures.p50 - singleFigures.p50;
  return [
    '### Fan-out latency: one open port, front + 3 vantages vs one `porthole serve` (loopback)',
    '',
    `${LATENCY_RUNS - 10} sequential \`POST /v1/check\` to each from a warm client, taking the three in turn, after 10`,
    'warm-up requests. A fleet: nats-server, one front, three vantages in three regions, each its own process; every',
    'check is signed, fanned out to all three and gathered; with JetStream the caller is also counted in the shared',
    'KV bucket (a read and a compare-and-set: two round trips to nats-server) and the check recorded there.',
    '',
    '| | p50 | p99 | every answer complete |',
    '| --- | --- | --- | --- |',
    `| single \`porthole serve\` | ${ms(singleFigures.p50)} | ${ms(singleFigures.p99)} | ${singleFigures.answered ? 'yes' : 'NO'} |`,
    `| front + 3 vantages (shared KV limits) | ${ms(fleetFigures.p50)} | ${ms(fleetFigures.p99)} | ${fleetFigures.answered ? 'yes' : 'NO'} |`,
    `| front + 3 vantages (no JetStream: limits per front) | ${ms(localFigures.p50)} | ${ms(localFigures.p99)} | ${localFigures.answered ? 'yes' : 'NO'} |`,
    '',
    `Added p50 with shared limits: ${ms(added)} (goal ≤ 5 ms: ${added <= 5 ? 'met' : 'NOT met'}); without JetStream: ${ms(localFigures.p50 - singleFigures.p50)}. The`,
    'single service writes SQLite per check; the front records in KV without waiting for it.',
  ].join('\n');
}

async function closedThroughput(url: string): Promise<{ rate: number; p99: number; errors: number }> {
  const closed = await freePort();
  const result = await autocannon({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ports: String(closed) }),
    connections: CONNECTIONS,
    duration: THROUGHPUT_SECONDS,
    // Many callers, as a public service has: each request comes from another loopback address
    // (127.x.y.z all reach this host, and nothing listens on that port there), so the shared
    // per-caller count is not one hot KV key that every request races on.
    requests: [
      {
        setupRequest: (request: { headers?: Record<string, string> }) => {
          const octet = () => 1 + Math.floor(Math.random() * 254);
          request.headers = { ...request.headers, 'x-forwarded-for': `127.${octet()}.${octet()}.${octet()}` };
          return request;
        },
      },
    ],
  } as autocannon.Options);
  return { rate: result.requests.average, p99: result.latency.p99, errors: result.errors + result.non2xx };
}

async function scaling(): Promise<string> {
  const rows: string[] = [];
  let base = 0;
  let two = 0;
  for (const jetstream of [true, false]) {
    const fleet = await startFleet(jetstream);
    try {
      for (let count = 1; count <= (jetstream ? 3 : 1); count++) {
        await fleet.addVantage(`w${count}`, 'one');
        // One region: the queue group gives each check to one vantage, so probe capacity adds up.
        const figures = await closedThroughput(`${fleet.url}/v1/check?vantage=one`);
        if (jetstream && count === 1) base = figures.rate;
        if (jetstream && count === 2) two = figures.rate;
        rows.push(
          `| ${count} | ${jetstream ? 'KV (shared)' : 'per front (no JetStream)'} | ${Math.round(figures.rate)} | ${jetstream && base > 0 ? `${(figures.rate / base).toFixed(2)}×` : '—'} | ${figures.p99} ms | ${figures.errors} |`,
        );
      }
    } finally {
      fleet.stop();
    }
  }
  return [
    '### Throughput: closed ports, 1–3 vantages sharing one region behind one front (loopback)',
    '',
    `autocannon, ${CONNECTIONS} connections for ${THROUGHPUT_SECONDS} s per row, each check one closed port. Everything — autocannon,`,
    `nats-server, the front and every vantage — runs on this machine's ${cpus().length} cores.`,
    '',
    '| vantages | rate limits | checks/s | vs 1 vantage | latency p99 | errors + non-2xx |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
    `At 2 vantages: ${two > 0 && base > 0 ? `${(two / base).toFixed(2)}×` : 'not measured'} (goal ≥ 1.8× where cores allow). A closed-port probe on`,
    'loopback costs a vantage little; the front spends more per check (HTTP, signing, the KV compare-and-set for the',
    'shared limit, the gather), and on 2 cores the load generator, nats-server, the front and the vantages all',
    'compete, so the machine, not probe capacity, is the ceiling: added vantages gain only what the cores have',
    'left. Near-linear scaling needs the vantages on their own machines, as a fleet has them. The last row (no',
    'JetStream: limits per front, no record) is for comparison. This machine is shared with other work: figures',
    'move by tens of percent between runs.',
  ].join('\n');
}

/** The section for docs/BENCHMARKS.md. */
export async function benchFleet(): Promise<string> {
  return ['## Check service as a fleet over NATS (issue 18)', '', await fanOutLatency(), '', await scaling()].join(
    '\n',
  );
}

// Run alone: `node --import tsx bench/fleet.ts`.
if (import.meta.url === `file://${process.argv[1]}`) process.stdout.write(`${await benchFleet()}\n`);
