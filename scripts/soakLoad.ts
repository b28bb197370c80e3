/**
 * The soak's load on the check service (run by scripts/soak.ts inside its load host on the lab's
 * internet): first valid checks alone (the baseline), then valid checks beside malformed JSON,
 * oversized bodies, slow clients holding connections and bursts from one caller (the abuse), all
 * with autocannon's programmatic API except the slow clients (raw sockets). Bounded by the phase
 * lengths it is given. Prints one JSON document (the figures) on stdout at the end.
 *
 *   node --import tsx scripts/soakLoad.ts CONFIG_JSON
 *
 * The load host is the service's trusted proxy: each request names its caller in X-Forwarded-For,
 * so valid checks come from a pool of callers (each under the per-caller limits, as real users
 * are) and probe a listener those addresses really have here; malformed and oversized bodies come
 * from made-up callers, so the rate limiter (which answers before the body is read) does not hide
 * them from the body parser; a burst comes from one caller and must be refused with 429, never 5xx.
 */
import { createServer, connect as netConnect, type Socket } from 'node:net';
import autocannon from 'autocannon';
import { sleep } from '../src/deadline/index.js';

/** What scripts/soak.ts passes. */
export interface LoadConfig {
  /** The service, `http://ADDR:PORT`. */
  readonly url: string;
  readonly baselineSeconds: number;
  readonly abuseSeconds: number;
  /** Callers of valid checks: addresses of this host, probed by the service on `probedPort`. */
  readonly callers: readonly string[];
  /** The one caller of the bursts (also an address of this host). */
  readonly burstCaller: string;
  readonly probedPort: number;
  /** Valid checks per second (all callers together). */
  readonly validRate: number;
  readonly malformedRate: number;
  readonly oversizedRate: number;
  /** Requests in one burst, and the pause between bursts. */
  readonly burstSize: number;
  readonly burstEverySeconds: number;
  /** Slow clients held open at once, and how often each sends its next byte. */
  readonly slowClients: number;
  readonly slowByteEverySeconds: number;
}

const config = JSON.parse(process.argv[2] ?? '{}') as LoadConfig;
const CHECK = { method: 'POST' as const, path: '/v1/check' };
const JSON_TYPE = { 'content-type': 'application/json' };

/** Malformed bodies, in turn: cut short, not JSON, trailing garbage, wrong types, deep nesting. */
const MALFORMED = [
  '{"ports": "7001"',
  'ports=7001',
  '{"ports": "7001"}}',
  '{"ports": {"a": 1}}',
  '{"ports": "70000"}',
  `${'['.repeat(2000)}${']'.repeat(2000)}`,
  '{"ports": "7001", "proof": {"key": "not base64 at all"}}',
];
/** Four times the service's 16 KiB body limit. */
const OVERSIZED = JSON.stringify({ ports: '7001', padding: 'x'.repeat(64 * 1024) });

/** A made-up caller per request (198.51.100.0/24 and 192.0.2.0/24 never reach a probe here). */
function madeUpCaller(n: number): string {
  return n % 2 === 0 ? `198.51.100.${(n >> 1) % 256}` : `192.0.2.${(n >> 1) % 256}`;
}

/** The figures of one autocannon run, trimmed to what the report needs. */
interface RunFigures {
  readonly requests: number;
  readonly status: Record<string, number>;
  readonly fivexx: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  /** Valid checks only: answers whose results said the port was open. */
  readonly openAnswers?: number;
}

function figures(result: autocannon.Result, openAnswers?: number): RunFigures {
  const status = Object.fromEntries(
    Object.entries(
      (result as unknown as { statusCodeStats?: Record<string, { count: number }> }).statusCodeStats ?? {},
    ).map(([code, stat]) => [code, stat.count]),
  );
  return {
    requests: result.requests.total,
    status,
    fivexx: result['5xx'],
    errors: result.errors,
    timeouts: result.timeouts,
    p50: result.latency.p50,
    p99: result.latency.p99,
    max: result.latency.max,
    ...(openAnswers !== undefined ? { openAnswers } : {}),
  };
}

/** Valid checks at `validRate`, each from the next caller of the pool, for `seconds`. */
async function validChecks(seconds: number): Promise<RunFigures> {
  let next = 0;
  let open = 0;
  const result = await autocannon({
    url: config.url,
    connections: 8,
    overallRate: config.validRate,
    duration: seconds,
    timeout: 10,
    requests: [
      {
        ...CHECK,
        setupRequest: (request) => ({
          ...request,
          headers: { ...JSON_TYPE, 'x-forwarded-for': config.callers[next++ % config.callers.length] ?? '' },
          body: JSON.stringify({ ports: String(config.probedPort) }),
        }),
        onResponse: (status, body) => {
          if (status === 200 && body.includes('"state":"open"')) open++;
        },
      },
    ],
  });
  return figures(result, open);
}

/** Bodies the service must refuse with 4xx, each from a made-up caller, at `rate` for `seconds`. */
async function refusedBodies(bodies: readonly string[], rate: number, seconds: number): Promise<RunFigures> {
  let next = 0;
  // The service closes the connection after refusing a body; autocannon's overall rate then paces
  // the reconnects badly (latency counts its own waiting), so each connection sends one a second.
  const result = await autocannon({
    url: config.url,
    connections: rate,
    connectionRate: 1,
    duration: seconds,
    timeout: 10,
    requests: [
      {
        ...CHECK,
        setupRequest: (request) => {
          const n = next++;
          return {
            ...request,
            headers: { ...JSON_TYPE, 'x-forwarded-for': madeUpCaller(n) },
            body: bodies[n % bodies.length] ?? '',
          };
        },
      },
    ],
  });
  return figures(result);
}

/** A burst of valid checks from one caller every `burstEverySeconds`, until `seconds` have passed. */
async function bursts(
  seconds: number,
): Promise<{ bursts: number; status: Record<string, number>; fivexx: number; errors: number }> {
  const until = Date.now() + seconds * 1000;
  const status: Record<string, number> = {};
  let count = 0;
  let fivexx = 0;
  let errors = 0;
  while (Date.now() + config.burstEverySeconds * 1000 < until) {
    await sleep(config.burstEverySeconds * 1000);
    const result = await autocannon({
      url: `${config.url}${CHECK.path}`,
      method: CHECK.method,
      connections: 20,
      amount: config.burstSize,
      timeout: 10,
      headers: { ...JSON_TYPE, 'x-forwarded-for': config.burstCaller },
      body: JSON.stringify({ ports: String(config.probedPort) }),
    });
    count++;
    fivexx += result['5xx'];
    errors += result.errors;
    for (const [code, n] of Object.entries(figures(result).status)) status[code] = (status[code] ?? 0) + n;
  }
  return { bursts: count, status, fivexx, errors };
}

/**
 * Slow clients: each opens a connection, starts a request and then sends one header byte every
 * `slowByteEverySeconds`, never finishing; when the service closes one, another takes its place.
 */
async function slowClients(seconds: number) {
  const until = Date.now() + seconds * 1000;
  const held: number[] = [];
  let opened = 0;
  let refused = 0;
  const sockets = new Set<Socket>();
  const open = (): void => {
    if (Date.now() >= until) return;
    const { hostname, port } = new URL(config.url);
    const socket = netConnect({ host: hostname, port: Number(port) });
    const since = Date.now();
    let drip: NodeJS.Timeout | undefined;
    let connected = false;
    opened++;
    sockets.add(socket);
    socket.on('connect', () => {
      connected = true;
      socket.write(`POST /v1/check HTTP/1.1\r\nHost: soak\r\nContent-Type: application/json\r\nX-Slow: `);
      drip = setInterval(() => socket.write('a'), config.slowByteEverySeconds * 1000);
    });
    socket.on('data', () => {});
    socket.on('error', () => {
      if (!connected) refused++;
    });
    socket.on('close', () => {
      clearInterval(drip);
      sockets.delete(socket);
      if (Date.now() < until) {
        held.push(Date.now() - since);
        setTimeout(open, 100);
      }
    });
  };
  for (let i = 0; i < config.slowClients; i++) open();
  await sleep(Math.max(0, until - Date.now()));
  const stillOpen = sockets.size;
  for (const socket of sockets) socket.destroy();
  held.sort((a, b) => a - b);
  return {
    opened,
    refused,
    closedByService: held.length,
    heldMsMedian: held[Math.floor(held.length / 2)] ?? null,
    heldMsMax: held.at(-1) ?? null,
    stillOpenAtEnd: stillOpen,
  };
}

/** The service's own counters, from /metrics. */
async function serviceCounters(): Promise<Record<string, number>> {
  const text = await (await fetch(`${config.url}/metrics`)).text();
  const counters: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const match =
      /^(porthole_(?:checks|refused|probes)_total\{[^}]*\}|porthole_nodejs_heap_size_used_bytes|porthole_nodejs_external_memory_bytes) ([\d.e+]+)/.exec(
        line,
      );
    if (match?.[1]) counters[match[1]] = Number(match[2]);
  }
  return counters;
}

// The callers' listener: every probe of the service finds the port open here.
const listener = createServer((socket) => {
  socket.on('error', () => {});
  socket.end();
});
await new Promise<void>((resolve) => listener.listen(config.probedPort, '0.0.0.0', resolve));

const countersBefore = await serviceCounters().catch((error: unknown) => ({ error: String(error) }));
const startedAt = Date.now();
const baseline = await validChecks(config.baselineSeconds);
const abuseAt = Date.now();
const [valid, malformed, oversized, burst, slow] = await Promise.all([
  validChecks(config.abuseSeconds),
  refusedBodies(MALFORMED, config.malformedRate, config.abuseSeconds),
  refusedBodies([OVERSIZED], config.oversizedRate, config.abuseSeconds),
  bursts(config.abuseSeconds),
  slowClients(config.abuseSeconds),
]);
const endedAt = Date.now();
const counters = await serviceCounters().catch((error: unknown) => ({ error: String(error) }));
listener.close();
process.stdout.write(
  `${JSON.stringify({ startedAt, abuseAt, endedAt, baseline, abuse: { valid, malformed, oversized, burst, slow }, countersBefore, counters })}\n`,
);
process.exit(0);
