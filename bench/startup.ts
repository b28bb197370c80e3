/**
 * Cold start of the `porthole` command (the esbuild bundle that `bin` points at) beside
 * `node -e 0`, in one run, interleaved so that a busy machine weighs on all alike; and what a
 * user installs: the packed package's size and its production dependency tree.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { lstatSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { median, ms, ratio } from './measure.js';

const ROOT = new URL('..', import.meta.url).pathname;
const BUNDLE = join(ROOT, 'dist/cli/main.js');
const UNBUNDLED = join(ROOT, 'dist/src/cli/main.js');
/** Rounds of every command once each (bounded). */
const ROUNDS = 15;
/** The goal: a cold start within 1.3 times Node's own. */
const GOAL = 1.3;

function wallMs(args: readonly string[], command: string = process.execPath): number {
  const started = performance.now();
  spawnSync(command, args, { stdio: 'ignore', timeout: 30_000, cwd: ROOT });
  return performance.now() - started;
}

/** Rounds of the README's forms (npx starts npm first: slower, so fewer rounds, bounded). */
const README_ROUNDS = 7;

/** Bytes under a folder, not following links and not counting nested node_modules (counted as packages of their own). */
function folderBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules') total += folderBytes(path);
    } else if (entry.isFile()) total += lstatSync(path).size;
  }
  return total;
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(2)} MiB`;
}

/** The start-up section for docs/BENCHMARKS.md. */
export async function benchStartup(): Promise<string> {
  // An open port for `probe`: the kernel completes the handshake even while this process waits on a child.
  const server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = String((server.address() as { port: number }).port);
  const commands = {
    node: ['-e', '0'],
    version: [BUNDLE, '--version'],
    probe: [BUNDLE, 'probe', '127.0.0.1', port],
    unbundledVersion: [UNBUNDLED, '--version'],
    unbundledProbe: [UNBUNDLED, 'probe', '127.0.0.1', port],
  } as const;
  const times: Record<keyof typeof commands, number[]> = {
    node: [],
    version: [],
    probe: [],
    unbundledVersion: [],
    unbundledProbe: [],
  };
  try {
    for (const args of Object.values(commands)) wallMs(args); // Warm the file cache once.
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, args] of Object.entries(commands)) times[name as keyof typeof commands].push(wallMs(args));
    }
  } finally {
    server.close();
  }
  // The README's forms: `npx porthole` (npm resolves the package first) and the command installed
  // once (`npm install -g` or `npm link`: a link to the same bin, so the bundle itself).
  const npx: number[] = [];
  const installed: number[] = [];
  for (let round = 0; round < README_ROUNDS; round++) {
    npx.push(wallMs(['--no-install', 'porthole', '--version'], 'npx'));
    installed.push(wallMs([BUNDLE, '--version']));
  }
  const m = Object.fromEntries(Object.entries(times).map(([name, values]) => [name, median(values)])) as Record<
    keyof typeof commands,
    number
  >;

  const [packed] = JSON.parse(
    execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8' }),
  ) as { size: number; unpackedSize: number; entryCount: number }[];
  const tree = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: ROOT, encoding: 'utf8' })
    .trim()
    .split('\n')
    .slice(1);
  const packages = [...new Set(tree)];
  const direct = Object.keys(
    (JSON.parse(execFileSync('npm', ['pkg', 'get', 'dependencies'], { cwd: ROOT, encoding: 'utf8' })) ?? {}) as object,
  ).length;
  const installBytes = packages.reduce((sum, path) => sum + folderBytes(path), packed?.unpackedSize ?? 0);
  const verdict = (value: number) => (value / m.node <= GOAL ? 'within' : 'over');

  return [
    '### Cold start and install size',
    '',
    `Whole process, median of ${ROUNDS} interleaved runs each: \`node -e 0\`, the bundled command (\`bin\`: dist/cli/main.js,`,
    'esbuild, a lazy chunk per command) and the plain tsc output (dist/src/cli/main.js) with the same lazy frame.',
    '',
    '| command | bundled (bin) | tsc output, same frame | `node -e 0` | bundled / node |',
    '| --- | --- | --- | --- | --- |',
    `| \`porthole --version\` | ${ms(m.version)} | ${ms(m.unbundledVersion)} | ${ms(m.node)} | ${ratio(m.version, m.node)} (${verdict(m.version)} the ${GOAL}x goal) |`,
    `| \`porthole probe 127.0.0.1 PORT\` | ${ms(m.probe)} | ${ms(m.unbundledProbe)} | ${ms(m.node)} | ${ratio(m.probe, m.node)} (${verdict(m.probe)} the ${GOAL}x goal) |`,
    '',
    `The README's forms, median of ${README_ROUNDS} runs: \`npx porthole --version\` ${ms(median(npx))}, the command installed once (\`npm install -g\` or \`npm link\`, the same bin) ${ms(median(installed))}: npx adds ${ms(median(npx) - median(installed))} before porthole starts, on every command.`,
    '',
    `Packed (\`npm pack --dry-run\`): ${mib(packed?.size ?? 0)} tarball, ${mib(packed?.unpackedSize ?? 0)} unpacked, ${packed?.entryCount} files.`,
    `Production dependencies: ${direct} direct, ${packages.length} packages in the installed tree (\`npm ls --omit=dev --all\`),`,
    `${mib(installBytes)} installed with porthole itself (native better-sqlite3 build included).`,
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) process.stdout.write(`${await benchStartup()}\n`);
