/**
 * `npm run fuzz`: every target in test/fuzz, each in its own worker thread for a bounded count
 * (10⁶ inputs by default), then the figures into docs/RELIABILITY.md. A worker that sends no
 * heartbeat for STALL_MS is a hang: it is ended and reported with the seed to replay it.
 *
 *   npm run fuzz -- [--runs N] [--only natpmp,pcp] [--seed S] [--no-write]
 *
 * A crash's input is written to scratch/fuzz-crashes/ for turning into a fixture
 * (test/fixtures/fuzz/<target>--<what>.bin) once the decoder is fixed.
 *
 * A target with no saved outcome (scratch/ is not kept) keeps its row, with its date, from the
 * section already in docs/RELIABILITY.md: a run of some targets never erases the others' figures.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { type FuzzReport, loadTarget, SLOW_INPUT_MS, targetNames } from '../test/fuzz/runner.js';
import { machineLine, writeReliabilitySection } from './write-reliability.js';

/** No heartbeat (one per 1000 inputs) for this long means one input has not returned: a hang. */
const STALL_MS = 60_000;

/** A worker's entry is loaded before any `--import` hook runs in it: register tsx, then load the .ts worker. */
const WORKER_BOOT = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(
  new URL('./fuzzWorker.ts', import.meta.url).href,
)}); });`;

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: process.env.FUZZ_RUNS ?? '1000000' },
    only: { type: 'string' },
    seed: { type: 'string' },
    /** A time budget per target: on a busy machine a slow decoder may not reach --runs (the figures say so). */
    seconds: { type: 'string' },
    'no-write': { type: 'boolean', default: false },
    /** Only write the section again from the saved outcomes (after runs split across invocations). */
    render: { type: 'boolean', default: false },
  },
});
const timeLimitMs = values.seconds === undefined ? undefined : Number(values.seconds) * 1000;
const runs = Number(values.runs);
const seed = values.seed === undefined ? Date.now() % 2 ** 31 : Number(values.seed);
const names = values.render ? [] : values.only ? values.only.split(',') : targetNames();

interface Outcome {
  readonly name: string;
  /** When and where this target ran, and what was asked of it. */
  readonly ran?: { at: string; machine: string; runs: number; seed: number; seconds?: number };
  readonly report?: FuzzReport;
  readonly coverage?: { file: string; covered: number; total: number }[];
  readonly hang?: string;
}

function runInWorker(name: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const worker = new Worker(WORKER_BOOT, { eval: true, workerData: { name, runs, seed, timeLimitMs } });
    let done = 0;
    let stall: NodeJS.Timeout;
    const watch = () => {
      clearTimeout(stall);
      stall = setTimeout(() => {
        void worker.terminate();
        resolve({ name, hang: `no answer for ${STALL_MS / 1000} s after input ${done} (seed ${seed})` });
      }, STALL_MS);
    };
    watch();
    worker.on(
      'message',
      (message: { type: string; done?: number; report?: FuzzReport; coverage?: Outcome['coverage'] }) => {
        if (message.type === 'progress') {
          done = message.done ?? done;
          if (done % 100_000 === 0) process.stderr.write(`  ${name}: ${done}\n`);
          watch();
          return;
        }
        clearTimeout(stall);
        resolve({
          name,
          ...(message.report ? { report: message.report } : {}),
          ...(message.coverage ? { coverage: message.coverage } : {}),
        });
      },
    );
    worker.on('error', (error) => {
      clearTimeout(stall);
      resolve({ name, hang: `the worker failed: ${error.message}` });
    });
  });
}

/**
 * Each target's last outcome is kept here, so targets can run in separate invocations (a slow
 * decoder in one, the rest in another) and the section always shows the latest of each.
 */
const RESULTS = new URL('../scratch/fuzz-results/', import.meta.url);
mkdirSync(RESULTS, { recursive: true });
const DOC = new URL('../docs/RELIABILITY.md', import.meta.url);

/** What the section in docs/RELIABILITY.md said before this run, per target: its table row and load. */
interface Published {
  readonly row: string;
  readonly load?: string;
  readonly machine?: string;
  readonly commits: readonly string[];
}

/** The rows of the fuzz section as published (read once, before this run writes it). */
function published(): Map<string, Published> {
  let doc = '';
  try {
    doc = readFileSync(DOC, 'utf8');
  } catch {
    return new Map();
  }
  const section = /<!-- section:fuzz -->([\s\S]*?)<!-- \/section:fuzz -->/.exec(doc)?.[1] ?? '';
  const machine = /Machine and versions: (.*?); commits /.exec(section)?.[1];
  const commits = /; commits ([0-9a-f, ?]+) \(/.exec(section)?.[1]?.split(', ') ?? [];
  const flat = section.replace(/\n/g, ' ');
  // Either "each target was 18.0, 4.6 on 2 cores" (in row order) or "name 18.0, other 4.6".
  const loadText = /at the end of each target was (.*?) on 2 cores/.exec(flat)?.[1] ?? '';
  const rows = section
    .split('\n')
    .filter((line) => /^\| [A-Za-z0-9]+ \| /.test(line) && !line.startsWith('| target |'));
  const byPosition = loadText.split(', ').filter((load) => /^[\d.?]+$/.test(load));
  const byName = new Map(
    [...loadText.matchAll(/([A-Za-z0-9]+) ([\d.?]+)/g)].map((match) => [match[1] ?? '', match[2] ?? '']),
  );
  return new Map(
    rows.map((row, index) => {
      const name = row.split('|')[1]?.trim() ?? '';
      const load = byName.get(name) ?? (byPosition.length === rows.length ? byPosition[index] : undefined);
      return [name, { row, commits, ...(load ? { load } : {}), ...(machine ? { machine } : {}) } satisfies Published];
    }),
  );
}
const before = published();
/** Every target's decoder, for the list under the table (a target without a run is listed too). */
const decoderOf = new Map<string, string>();
for (const name of targetNames()) decoderOf.set(name, (await loadTarget(name)).decoder);

for (const name of names) {
  process.stderr.write(`fuzz ${name}: ${runs} inputs, seed ${seed}\n`);
  const outcome: Outcome = {
    ...(await runInWorker(name)),
    ran: {
      at: new Date().toISOString(),
      machine: machineLine(),
      runs,
      seed,
      ...(values.seconds ? { seconds: Number(values.seconds) } : {}),
    },
  };
  writeFileSync(
    new URL(`${name}.json`, RESULTS),
    JSON.stringify(outcome, (_key, value) =>
      value instanceof Uint8Array ? Buffer.from(value).toString('hex') : value,
    ),
  );
  const report = outcome.report;
  if (report) {
    process.stderr.write(
      `  ${report.inputs} inputs, ${report.inputsPerSecond}/s, ${report.crashes.length} crashes, slowest ${report.slowestMs.toFixed(2)} ms\n`,
    );
    // The slowest input, to look at when it is over the goal.
    mkdirSync(new URL('../scratch/fuzz-slowest/', import.meta.url), { recursive: true });
    writeFileSync(new URL(`../scratch/fuzz-slowest/${name}.bin`, import.meta.url), report.slowestInput);
    if (report.crashes.length > 0) {
      mkdirSync(new URL('../scratch/fuzz-crashes/', import.meta.url), { recursive: true });
      report.crashes.forEach((crash, index) => {
        const file = new URL(`../scratch/fuzz-crashes/${name}-${index}.bin`, import.meta.url);
        writeFileSync(file, crash.bytes);
        process.stderr.write(`  crash: ${crash.signature} → ${file.pathname}\n${crash.stack ?? ''}\n`);
      });
    }
  } else process.stderr.write(`  HANG: ${outcome.hang}\n`);
  if (!values['no-write']) writeReliabilitySection('fuzz', render());
}
if (values.render && !values['no-write']) writeReliabilitySection('fuzz', render());
const outcomesNow = saved();
process.stdout.write(`${render()}\n`);
process.exitCode = outcomesNow.some((o) => !o.report || o.report.crashes.length > 0) ? 1 : 0;

/** Every target's last saved outcome. */
function saved(): Outcome[] {
  return targetNames().flatMap((name) => {
    try {
      return [JSON.parse(readFileSync(new URL(`${name}.json`, RESULTS), 'utf8')) as Outcome];
    } catch {
      return [];
    }
  });
}

function render(): string {
  const outcomes = saved();
  const ran = new Set(outcomes.map((o) => o.name));
  // Targets this checkout has no outcome for keep what the document said of them.
  const kept = targetNames().flatMap((name) => {
    const row = ran.has(name) ? undefined : before.get(name);
    return row ? [{ name, ...row }] : [];
  });
  const percent = (coverage: Outcome['coverage']) =>
    coverage && coverage.length > 0
      ? coverage
          .map((file) => `${file.file.split('/').pop()} ${Math.round((100 * file.covered) / Math.max(1, file.total))}%`)
          .join(', ')
      : 'n/a';
  const asked = (o: Outcome) =>
    o.ran
      ? `${o.ran.runs.toLocaleString('en')}${o.ran.seconds ? ` or ${o.ran.seconds} s` : ''}, seed ${o.ran.seed}, ${o.ran.at.slice(0, 16)}Z`
      : '';
  const rowOf = (o: Outcome) =>
    o.report
      ? `| ${o.name} | ${o.report.inputs.toLocaleString('en')} | ${o.report.inputsPerSecond.toLocaleString('en')} | ${o.report.values.toLocaleString('en')} / ${o.report.rejected.toLocaleString('en')} | ${o.report.crashes.length} | ${o.report.slowestMs.toFixed(2)} (${o.report.rawSlowestMs.toFixed(0)}) | ${o.report.slowInputs} | ${percent(o.coverage)} | ${asked(o)} |`
      : `| ${o.name} | failed | | | 1 | | | | ${asked(o)}: ${o.hang} |`;
  const rows = [
    ...outcomes.map((o) => ({ name: o.name, row: rowOf(o) })),
    ...kept.map(({ name, row }) => ({ name, row })),
  ]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map(({ row }) => row);
  const short = outcomes.filter((o) => o.report && o.ran && o.report.inputs < o.ran.runs);
  const decoders = targetNames().map((name) => `- **${name}**: ${decoderOf.get(name) ?? '(no target)'}`);
  // A kept row's crash count is its fifth column.
  const keptCrashes = kept.reduce((sum, { row }) => sum + (Number(row.split('|')[5]?.trim()) || 0), 0);
  const totalCrashes = outcomes.reduce((sum, o) => sum + (o.report ? o.report.crashes.length : 1), 0) + keptCrashes;
  // The machine without its load average (which differs per target); each target's load is listed apart.
  const machines = [
    ...new Set([
      ...outcomes.flatMap((o) =>
        o.ran
          ? [
              o.ran.machine
                .split(' · ')
                .slice(1)
                .join(' · ')
                .replace(/, load average [^·]*\(a shared machine\)/, '')
                .replace(/ \([0-9a-f]+\)/, ''),
            ]
          : [],
      ),
      ...kept.flatMap((k) => (k.machine ? [k.machine] : [])),
    ]),
  ];
  const commits = [
    ...new Set([
      ...kept.flatMap((k) => k.commits),
      ...outcomes.flatMap((o) => (o.ran ? [/porthole \S+ \(([0-9a-f]+)\)/.exec(o.ran.machine)?.[1] ?? '?'] : [])),
    ]),
  ];
  const loads = [
    ...outcomes.flatMap((o) =>
      o.ran ? [{ name: o.name, load: /load average ([\d.]+)/.exec(o.ran.machine)?.[1] ?? '?' }] : [],
    ),
    ...kept.map((k) => ({ name: k.name, load: k.load ?? '?' })),
  ]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map(({ name, load }) => `${name} ${load}`);
  return [
    '## Fuzzing (`npm run fuzz`)',
    '',
    `Machine and versions: ${machines.join('; ') || machineLine()}; commits ${commits.join(', ')} (the targets ran in`,
    'separate invocations while this branch moved on; none of those commits changed a decoder other than as listed',
    'under the crashes below). A target not run in the latest invocation keeps its row, with its date, from the',
    'previous version of this section. A shared machine: the 1-minute load average at the end of',
    `each target was ${loads.join(', ')} on 2 cores.`,
    '',
    'Each target (test/fuzz/<name>.fuzz.ts, one shared runner) is fed by fast-check: arbitrary bytes, printable',
    'noise, mutations (bit flips, boundary values in length fields, inserted markup, repeats, truncation) of the',
    'real captures in test/fixtures and of valid messages, and valid messages that must decode back to what was',
    "encoded. The property: a value, or a PortholeError with the decoder's malformed-input code; anything else",
    `(TypeError, RangeError, another code, a wrong round trip) is a crash. Goals: 0 crashes, every input < ${SLOW_INPUT_MS} ms.`,
    `"slowest ms" is an input's own time: one that took over ${SLOW_INPUT_MS} ms is re-timed twice and its best run kept; "raw"`,
    'is the slowest single measurement, with GC pauses and the other processes on this shared machine included.',
    "Coverage is V8 block coverage of the decoder's files (share of non-blank code that ran, encoders in the same",
    'file included, from the run itself). The generation is structured, not coverage-guided. Coverage guidance',
    'would be Jazzer.js, and it cannot run here (tried 2026-11-30): @jazzer.js/core 4.0.0 installs from npm, but its',
    'prebuilt fuzzer needs glibc 2.38 (Debian 12 has 2.36); 2.x fetches its prebuilt from GitHub or builds with',
    'cmake-js (no cmake, no Node headers or libFuzzer sources reachable). Inputs/s are with coverage on and on a',
    'loaded machine.',
    '',
    '| target | inputs | inputs/s | values / rejected | crashes | slowest ms (raw) | inputs > 10 ms | coverage | asked (inputs or time), seed, when |',
    '|---|---:|---:|---:|---:|---:|---:|---|---|',
    ...rows,
    '',
    ...(short.length > 0
      ? [
          `Not run to the full count (the time budget ended first): ${short.map((o) => `${o.name} (${o.report?.inputs.toLocaleString('en')})`).join(', ')}.`,
          '',
        ]
      : []),
    `Crashes in these runs: ${totalCrashes}. Crashes found while building the targets, each now a fixture in`,
    'test/fixtures/fuzz/ replayed by test/unit/fuzz.test.ts, and fixed:',
    '',
    '- `igdDescription--control-url-not-a-url.bin`: a `<controlURL>` (or URLBase) that is not a URL made `new URL`',
    '  throw a TypeError out of parseIgdDescription, so one hostile LAN device broke discovery. Such a service is',
    '  now skipped, like one without a control URL.',
    '- `manifest--unresolved-alias.bin`: a YAML alias without its anchor (`*x`) made `doc.toJS` throw a',
    '  ReferenceError out of parseManifest (yaml reports it there, not in `doc.errors`); its alias cap against',
    '  billion laughs throws from the same place. Both are now E_MANIFEST_SYNTAX.',
    '- `dnsQuery--ipv6-not-rfc5952.bin` (a round trip): dns-packet writes an IPv6 address with its first run of',
    '  zeros compressed, not the longest (`7772::1:0:0:0:0` for `7772:0:0:1::`). `name set` compared that text with',
    '  the address it wanted, so such an address looked changed on every run and sent an UPDATE each time. Answers',
    '  are now read in RFC 5952 text, and the addresses asked for are written the same way (`2001:DB8::1` too).',
    '- `mdns--ipv6-not-rfc5952.bin` (a round trip in the long run): the same dns-packet text in mDNS AAAA records,',
    '  so one host could be listed under two spellings of one address. RFC 5952 text there too.',
    '- `mdns--counts-past-the-end.bin` (a slow input): dns-packet reads as many records as the header counts, past',
    '  the end of the bytes; 28 bytes claiming 50,000 records took 50-160 ms each. A header whose counts need more',
    '  bytes than the message has is now refused first (mDNS and the DNS query answer alike).',
    '- `mdns--555-records-one-name.bin` (a slow input): DnsSdRecords compared each record with every one heard',
    '  for its name; one datagram of 555 A records for one name took 140 ms. Records are now kept by identity.',
    '- `wsd--escaped-xaddrs.bin` (a round trip): WS-Discovery text kept its entity references (`&amp;`, `&#39;`)',
    '  because the safe XML parser expands none; an XAddrs URL with a query came out wrong. The five predefined',
    '  entities and character references are now resolved in one pass (no expansion of declared entities).',
    '- `dnsUsers--name-not-a-dns-name.bin`: a users-file name that is not a DNS name came out as E_DNS_NAME (whose',
    '  hint speaks of the command line); it is now E_DNS_USERS_FILE naming the entry.',
    '- `relayTenants--rsa-key-ssh2-asserts.bin` (the long run): a truncated RSA key in a tenants file',
    "  (`ssh-rsa AAAAB3NzaC1yc2EAAAAAAAAAAaz`) made ssh2's parseKey throw asn1's AssertionError instead of returning",
    '  an Error, so `relay serve` died with an uncoded error. It is now one of the listed E_RELAY_TENANTS problems.',
    '- Not a fuzzer find but what the property needs: the relay framings (PROXY header, WebSocket frame, UDP',
    '  channel frame) threw plain Error subclasses without a code; they are now E_RELAY_MALFORMED.',
    '',
    "Slow inputs (goal missed): the manifest target's slowest inputs are long YAML flow sequences spread over many",
    'lines (`port: [7001, 7002` then `, 7002` on each line). Timed by hand, the yaml library parses them in time',
    'linear in their length but at about 80 µs a line, closed or not (1,600 lines: 135 ms), so a few hundred such',
    'lines pass 10 ms; the 1 MiB cap of loadManifest bounds it to seconds, not a hang. Manifests are local files.',
    'The relay tenants file goes through the same yaml library and misses the goal the same way (a local file',
    'too): its slowest inputs are one line of `: : : …` (compact mappings nested in a flow), timed by hand at 12 ms for',
    '100 pairs, 44 ms for 500 and 85 ms for 2,000 (a 4 KiB input), inside yaml before any of our code runs. In',
    "`npm test`'s short run these two targets get 3,000 inputs instead of 10,000 (`shortRuns`). Every other",
    "target's slowest input is at or under the goal, except websocket's two, a load artefact: its slowest, 3,285",
    'bytes of frames, takes 0.48 ms when timed by hand (best of 50 runs), against the 16 ms measured in the run.',
    '',
    'Found with the fake router rather than by fuzzing: NAT-PMP and UPnP renewals kept the first external address',
    'after the ISP changed it (see "Router faults" below).',
    '',
    'Decoders:',
    '',
    ...decoders,
  ].join('\n');
}
