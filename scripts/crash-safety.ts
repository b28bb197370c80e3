/**
 * Crash safety, measured in the lab (root): `porthole map --keep` and `porthole firewall --apply`
 * are killed with SIGKILL at a random moment, N times each (bounded), and what they leave is
 * counted, then what is left after the next porthole run that cleans up. Figures go to
 * docs/RELIABILITY.md (section "crash").
 *
 *   node --import tsx scripts/crash-safety.ts [--runs N] [--seed S] [--no-write]
 *
 * `porthole cleanup` does not exist yet; until it does, the "next run" is `porthole unmap PORT`
 * (which removes the router's UPnP-listed mappings of this host even without a record) and
 * `porthole firewall PORTS --remove`. Mappings are counted on the router with upnpc (miniupnpd
 * lists NAT-PMP and PCP mappings there too), firewall leftovers with `nft -j list ruleset`.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type Lab, startLab } from '../lab/lab.js';
import { sleep } from '../src/deadline/index.js';
import { machineLine, writeReliabilitySection } from './write-reliability.js';

const CLI = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const PORT = 7001;

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '10' },
    seed: { type: 'string' },
    'no-write': { type: 'boolean', default: false },
  },
});
const runs = Number(values.runs);
let seed = values.seed === undefined ? Date.now() % 2 ** 31 : Number(values.seed);
const firstSeed = seed;
/** A small seeded generator (mulberry32), so a run's kill times can be replayed. */
function random(): number {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
}

function stateDir(lab: Lab, run: string): string {
  const dir = join(lab.state.dir, `state-${run}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** porthole in the LAN host, as a user would run it, with its own state folder. */
function porthole(lab: Lab, state: string, args: readonly string[]) {
  return lab.exec('lan', 'env', [`XDG_STATE_HOME=${state}`, process.execPath, '--import', 'tsx', CLI, ...args], {
    timeoutMs: 30_000,
  });
}

/** The state file parses (or is absent); how many mappings it records. */
function stateFile(state: string): { parses: boolean; recorded: number } {
  try {
    const parsed: unknown = JSON.parse(readFileSync(join(state, 'porthole', 'mappings.json'), 'utf8'));
    return { parses: Array.isArray(parsed), recorded: Array.isArray(parsed) ? parsed.length : 0 };
  } catch (error) {
    return { parses: (error as NodeJS.ErrnoException).code === 'ENOENT', recorded: 0 };
  }
}

/** Mappings of PORT to the LAN host on the router, from its own list. */
async function routerMappings(lab: Lab): Promise<number> {
  const listed = await lab.exec('lan', 'upnpc', ['-u', lab.addresses.igdDescriptionUrl, '-l'], { timeoutMs: 15_000 });
  return (listed.stdout.match(new RegExp(`${PORT}->${lab.addresses.lan.replaceAll('.', '\\.')}:${PORT}`, 'g')) ?? [])
    .length;
}

/** porthole's nftables state in the LAN host: its table and rules it inserted elsewhere. */
async function firewallState(lab: Lab): Promise<{ tables: string[]; rules: number }> {
  const listed = await lab.exec('lan', 'nft', ['-j', 'list', 'ruleset'], { timeoutMs: 15_000 });
  const items = (
    JSON.parse(listed.stdout || '{"nftables":[]}') as {
      nftables: Record<string, { name?: string; comment?: string }>[];
    }
  ).nftables;
  const tables = items.flatMap((item) => (item.table?.name?.startsWith('porthole') ? [item.table.name] : []));
  const rules = items.filter((item) => item.rule?.comment?.startsWith('porthole:')).length;
  return { tables, rules };
}

interface KeepRun {
  via: string;
  killAfterMs: number;
  parses: boolean;
  recorded: number;
  onRouterAfterKill: number;
  onRouterAfterCleanup: number;
  /** The cleaning run's error, when it failed (it cannot then have cleaned anything). */
  nextRunFailed: string | undefined;
}

/** How long a command takes uninterrupted here: kills land in [0, 1.5 × that], before, during and after its work. */
async function windowMs(lab: Lab, args: readonly string[], undo: readonly string[]): Promise<number> {
  const state = stateDir(lab, 'calibrate');
  const started = performance.now();
  const result = await porthole(lab, state, args);
  const ms = performance.now() - started;
  if (result.code !== 0) throw new Error(`porthole ${args.join(' ')} failed: ${result.stderr}`);
  await porthole(lab, state, undo);
  return Math.round(ms * 1.5);
}

async function keepRuns(lab: Lab): Promise<{ window: number; runs: KeepRun[] }> {
  const results: KeepRun[] = [];
  const methods = ['upnp', 'natpmp', 'pcp'];
  const window = await windowMs(lab, ['map', String(PORT), '--via', 'upnp'], ['unmap', String(PORT)]);
  for (let i = 0; i < runs; i++) {
    const via = methods[i % methods.length] ?? 'upnp';
    const state = stateDir(lab, `keep-${i}`);
    const killAfterMs = Math.round(random() * window);
    const pid = lab.startBackground('lan', `keep-${i}`, 'env', [
      `XDG_STATE_HOME=${state}`,
      process.execPath,
      '--import',
      'tsx',
      CLI,
      'map',
      String(PORT),
      '--lease',
      '60',
      '--via',
      via,
      '--keep',
    ]);
    await sleep(killAfterMs);
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone (it failed early): what it left is still counted.
    }
    await sleep(300);
    const file = stateFile(state);
    const onRouterAfterKill = await routerMappings(lab);
    const next = await porthole(lab, state, ['unmap', String(PORT)]);
    const onRouterAfterCleanup = await routerMappings(lab);
    results.push({
      via,
      killAfterMs,
      ...file,
      onRouterAfterKill,
      onRouterAfterCleanup,
      nextRunFailed: next.code === 0 ? undefined : next.stderr.trim().split('\n').slice(-3).join(' '),
    });
    process.stderr.write(`map --keep via ${via}, killed at ${killAfterMs} ms: ${JSON.stringify(results.at(-1))}\n`);
  }
  return { window, runs: results };
}

interface ApplyRun {
  killAfterMs: number;
  /** none, complete (what an uninterrupted apply leaves), or partial. */
  afterKill: 'none' | 'complete' | 'partial';
  leftAfterRemove: number;
}

async function applyRuns(
  lab: Lab,
): Promise<{ window: number; reference: { tables: string[]; rules: number }; runs: ApplyRun[] }> {
  const spec = `${PORT},5353/udp`;
  const state = stateDir(lab, 'firewall');
  const window = await windowMs(
    lab,
    ['firewall', spec, '--target', 'nftables', '--apply'],
    ['firewall', spec, '--target', 'nftables', '--remove'],
  );
  const applied = await porthole(lab, state, ['firewall', spec, '--target', 'nftables', '--apply']);
  if (applied.code !== 0) throw new Error(`firewall --apply failed: ${applied.stderr}`);
  const reference = await firewallState(lab);
  await porthole(lab, state, ['firewall', spec, '--target', 'nftables', '--remove']);
  const results: ApplyRun[] = [];
  for (let i = 0; i < runs; i++) {
    const killAfterMs = Math.round(random() * window);
    const pid = lab.startBackground('lan', `apply-${i}`, 'env', [
      `XDG_STATE_HOME=${state}`,
      process.execPath,
      '--import',
      'tsx',
      CLI,
      'firewall',
      spec,
      '--target',
      'nftables',
      '--apply',
    ]);
    await sleep(killAfterMs);
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Finished before the kill: the complete state is expected.
    }
    await sleep(200);
    const after = await firewallState(lab);
    const afterKill =
      after.tables.length === 0 && after.rules === 0
        ? 'none'
        : after.tables.join() === reference.tables.join() && after.rules === reference.rules
          ? 'complete'
          : 'partial';
    await porthole(lab, state, ['firewall', spec, '--target', 'nftables', '--remove']);
    const left = await firewallState(lab);
    results.push({ killAfterMs, afterKill, leftAfterRemove: left.tables.length + left.rules });
    process.stderr.write(`firewall --apply killed at ${killAfterMs} ms: ${JSON.stringify(results.at(-1))}\n`);
  }
  return { window, reference, runs: results };
}

const lab = await startLab({ topology: 'home' });
let keep: Awaited<ReturnType<typeof keepRuns>>;
let apply: Awaited<ReturnType<typeof applyRuns>>;
try {
  keep = await keepRuns(lab);
  apply = await applyRuns(lab);
} finally {
  lab.stop();
}

const count = <T>(list: T[], test: (item: T) => boolean) => list.filter(test).length;
const section = [
  '## Crash safety (`node --import tsx scripts/crash-safety.ts`, lab, root)',
  '',
  `Last run: ${machineLine()}. Seed ${firstSeed}, ${runs} runs per command.`,
  '',
  `**map --keep** (\`porthole map ${PORT} --lease 60 --via upnp|natpmp|pcp --keep\` in the lab's LAN host, SIGKILL at a`,
  `random moment in its first ${keep.window} ms (1.5 × an uninterrupted \`map\` here), then \`porthole unmap\` as the next`,
  'run; `porthole cleanup` is not built yet):',
  '',
  '| runs | state file parses | mappings recorded in it | left on the router after the kill | next run failed | left after the next run |',
  '|---:|---:|---:|---:|---:|---:|',
  `| ${keep.runs.length} | ${count(keep.runs, (r) => r.parses)} of ${keep.runs.length} | ${keep.runs.reduce((s, r) => s + r.recorded, 0)} | ${count(keep.runs, (r) => r.onRouterAfterKill > 0)} | ${count(keep.runs, (r) => r.nextRunFailed !== undefined)} | ${count(keep.runs, (r) => r.onRouterAfterCleanup > 0)} |`,
  ...keep.runs
    .filter((r) => r.onRouterAfterCleanup > 0 || r.nextRunFailed)
    .map(
      (r) =>
        `- via ${r.via}, killed at ${r.killAfterMs} ms: ${r.onRouterAfterCleanup} left${r.nextRunFailed ? `; the next run failed: ${r.nextRunFailed}` : ''}`,
    ),
  '',
  '`map --keep` does not record its mapping in the state file (only `map` without --keep does), so a killed',
  "keeper leaves a mapping nothing records: UPnP-listed ones are found again by `unmap` through the router's",
  'list (miniupnpd lists its NAT-PMP and PCP mappings there too); on a router that lists nothing (NAT-PMP or',
  'PCP only) it would stay until its lease ends.',
  '',
  "Why a killed keeper's mapping could outlive a successful next run (found by hand in the lab): `unmap` removes an",
  'unrecorded mapping only through the UPnP list, and its discovery stopped 100 ms after the first answer; on a',
  "loaded machine miniupnpd's SSDP answer (it waits about 50 ms) came later, so `unmap` saw no UPnP, removed",
  'nothing and said "no mapping ... was found" with exit 0. `unmap` now waits for every protocol (up to 1 s).',
  'Earlier runs of this script, before that change, left a mapping after the next run in 1, 2 and 1 of 30 runs',
  '(the last two with the next run succeeding; the first run did not record that).',
  '',
  `**firewall --apply** (\`porthole firewall ${PORT},5353/udp --target nftables --apply\`, SIGKILL at a random moment in its`,
  `first ${apply.window} ms (1.5 × an uninterrupted apply), then \`--remove\`). A complete apply leaves table ${apply.reference.tables.join(', ') || '(none)'} and ${apply.reference.rules} inserted rule(s):`,
  '',
  '| runs | nothing applied | complete | partial | left after --remove |',
  '|---:|---:|---:|---:|---:|',
  `| ${apply.runs.length} | ${count(apply.runs, (r) => r.afterKill === 'none')} | ${count(apply.runs, (r) => r.afterKill === 'complete')} | ${count(apply.runs, (r) => r.afterKill === 'partial')} | ${count(apply.runs, (r) => r.leftAfterRemove > 0)} |`,
  '',
  count(apply.runs, (r) => r.afterKill === 'partial') === 0
    ? 'No kill left a part of the rules: the apply is one nftables transaction (all or nothing).'
    : 'Some kills left a part of the rules: see the log of this run.',
].join('\n');
process.stdout.write(`${section}\n`);
if (!values['no-write']) writeReliabilitySection('crash', section);
