/**
 * Runs the router-fault and check-service-abuse tests (test/unit/fakeRouter.test.ts,
 * test/unit/checkerAbuse.test.ts) and writes what passed into docs/RELIABILITY.md (section
 * "faults"): each suite with its tests, passes and time, and every failing test by name.
 *
 *   node --import tsx scripts/reliability-tests.ts [--no-write]
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { machineLine, writeReliabilitySection } from './write-reliability.js';

const FILES = ['test/unit/fakeRouter.test.ts', 'test/unit/checkerAbuse.test.ts'];
const { values } = parseArgs({ options: { 'no-write': { type: 'boolean', default: false } } });

interface Leaf {
  readonly suite: string;
  readonly name: string;
  readonly ok: boolean;
  readonly ms: number;
}

/** Reads node:test's TAP: `# Subtest:` names by depth, then `ok`/`not ok` with their duration and type. */
function leaves(tap: string): Leaf[] {
  const lines = tap.split('\n');
  const path: string[] = [];
  const found: Leaf[] = [];
  lines.forEach((line, index) => {
    const indent = (line.length - line.trimStart().length) / 4;
    const subtest = /^\s*# Subtest: (.*)$/.exec(line);
    if (subtest) {
      path.length = indent;
      path[indent] = subtest[1] ?? '';
      return;
    }
    const result = /^\s*(not ok|ok) \d+ - (.*?)(?: # (SKIP|TODO).*)?$/.exec(line);
    if (!result) return;
    const yaml = lines.slice(index + 1, index + 40);
    const end = yaml.findIndex((l) => l.trim() === '...');
    const block = yaml.slice(0, end < 0 ? undefined : end).join('\n');
    if (/type: 'suite'/.test(block)) return;
    found.push({
      suite: path.slice(0, indent).join(' › '),
      name: result[2] ?? '',
      ok: result[1] === 'ok',
      ms: Number(/duration_ms: ([\d.]+)/.exec(block)?.[1] ?? 0),
    });
  });
  return found;
}

const root = fileURLToPath(new URL('..', import.meta.url));
const rows: string[] = [];
const failures: string[] = [];
let total = 0;
let passed = 0;
for (const file of FILES) {
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', file], {
    cwd: root,
    encoding: 'utf8',
    timeout: 300_000,
    env: { ...process.env, PORTHOLE_ONLY_GATEWAYS: '192.168.77.0/24' },
  });
  const found = leaves(run.stdout);
  const suites = [...new Set(found.map((leaf) => leaf.suite))];
  for (const suite of suites) {
    const mine = found.filter((leaf) => leaf.suite === suite);
    const ms = mine.reduce((sum, leaf) => sum + leaf.ms, 0);
    rows.push(
      `| ${file.split('/').pop()} | ${suite} | ${mine.length} | ${mine.filter((l) => l.ok).length} | ${(ms / 1000).toFixed(1)} |`,
    );
  }
  for (const leaf of found.filter((l) => !l.ok)) failures.push(`- ${file}: ${leaf.suite} › ${leaf.name}`);
  total += found.length;
  passed += found.filter((l) => l.ok).length;
  process.stderr.write(`${file}: ${found.filter((l) => l.ok).length}/${found.length} passed\n`);
}

const section = [
  '## Router faults and check-service abuse (`node --import tsx scripts/reliability-tests.ts`)',
  '',
  `Last run: ${machineLine()}. ${passed} of ${total} tests passed.`,
  '',
  'Router faults run against test/support/fakeRouter.ts, a loopback router (NAT-PMP and PCP on one UDP port,',
  'SSDP, UPnP IGD description and SOAP) that misbehaves on cue: answers late, twice, from another address or',
  'port, garbage first, not at all; every NAT-PMP result (1-5), PCP result (1-13) and UPnP error code',
  'porthole knows; a reboot (epoch back to 0, table empty) and a new external address. The mapping compliance',
  'suite the lab runs against miniupnpd runs against it too. The abuse tests inject requests into the check',
  'service and count, on real loopback listeners, which addresses its probes reached. Times include a loaded,',
  'shared machine; they are not performance figures.',
  '',
  '| file | suite | tests | passed | seconds |',
  '|---|---|---:|---:|---:|',
  ...rows,
  ...(failures.length > 0 ? ['', 'Failing:', '', ...failures] : []),
].join('\n');
process.stdout.write(`${section}\n`);
if (!values['no-write']) writeReliabilitySection('faults', section);
process.exitCode = failures.length > 0 ? 1 : 0;
