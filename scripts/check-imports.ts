/**
 * `npm run lint`'s import check: the structure docs/architecture.md draws, enforced.
 *
 * - A folder's face is its `index.ts`: an import from another folder names `<folder>/index.js`,
 *   never a private file.
 * - Imports go down the layers only (LAYERS below): a module never imports one above it.
 * - No import circles between files.
 * - A command of the CLI imports no other command (only its own parts, named after it:
 *   check.ts → checkFleet.ts).
 *
 * `node --import tsx scripts/check-imports.ts [DIR]` prints each violation with its file and line
 * and exits 1 when there is one. DIR (default src) lets a test check a planted bad import.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';

/**
 * Each folder's layer: a folder may import folders of a lower layer only. Equal layers may not
 * import each other either, so no two folders can import each other.
 */
export const LAYERS: Readonly<Record<string, number>> = {
  errors: 0,
  deadline: 1,
  system: 2,
  net: 3,
  config: 3,
  manifest: 4,
  probe: 5,
  checkerClient: 6,
  firewall: 6,
  gateway: 6,
  host: 7,
  nat: 7,
  egress: 7,
  service: 7,
  discovery: 8,
  dns: 8,
  relay: 8,
  fleet: 8,
  checker: 9,
  doctor: 9,
  library: 10,
  ui: 11,
  cli: 12,
  '(root)': 13,
};

/** One import found in a file. */
interface Edge {
  readonly from: string;
  readonly to: string;
  readonly line: number;
}

/** Every .ts file under a folder. */
function tsFiles(folder: string): string[] {
  return readdirSync(folder).flatMap((name) => {
    const path = join(folder, name);
    if (statSync(path).isDirectory()) return tsFiles(path);
    return path.endsWith('.ts') && !path.endsWith('.d.ts') ? [path] : [];
  });
}

/** The relative imports of a file (static, dynamic and re-exports), resolved to .ts paths. */
function importsOf(file: string): Edge[] {
  const text = readFileSync(file, 'utf8');
  const edges: Edge[] = [];
  const pattern =
    /(?:import|export)\b[^'";]*?(?:from\s*)?['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;
  for (const match of text.matchAll(pattern)) {
    const target = match[1] ?? match[2];
    if (!target) continue;
    const line = text.slice(0, match.index).split('\n').length;
    edges.push({
      from: file,
      to: normalize(join(dirname(file), target.replace(/\.js$/, '.ts'))),
      line,
    });
  }
  return edges;
}

/** The top folder of a file under root (`gateway`), or `(root)` for root's own files. */
function folderOf(root: string, file: string): string {
  const parts = relative(root, file).split(sep);
  return parts.length > 1 ? (parts[0] as string) : '(root)';
}

/** A file's path inside its top folder (`commands/check.ts`). */
function insideFolder(root: string, file: string): string {
  return relative(root, file).split(sep).slice(1).join('/');
}

/** The violations in a source tree, one line each (`file:line: what`). */
export function checkImports(root: string): string[] {
  const files = tsFiles(root);
  const problems: string[] = [];
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const from = folderOf(root, file);
    for (const edge of importsOf(file)) {
      if (!edge.to.startsWith(normalize(root) + sep)) continue;
      const to = folderOf(root, edge.to);
      const where = `${relative(process.cwd(), file)}:${edge.line}`;
      graph.set(file, [...(graph.get(file) ?? []), edge.to]);
      if (from === to) {
        const mine = insideFolder(root, file);
        const theirs = insideFolder(root, edge.to);
        const command = (path: string) => /^commands\/([^/]+)\.ts$/.exec(path)?.[1];
        const a = command(mine);
        const b = command(theirs);
        if (from === 'cli' && a && b && a !== 'index' && !b.startsWith(a))
          problems.push(
            `${where}: the ${a} command imports the ${b} command (share it through src/library or a cli/ part)`,
          );
        continue;
      }
      if (insideFolder(root, edge.to) !== 'index.ts')
        problems.push(
          `${where}: imports ${to}/${insideFolder(root, edge.to)} past the folder's face (import ${to}/index.js)`,
        );
      const rankFrom = LAYERS[from];
      const rankTo = LAYERS[to];
      if (rankFrom === undefined || rankTo === undefined)
        problems.push(
          `${where}: folder ${rankFrom === undefined ? from : to} has no layer in scripts/check-imports.ts`,
        );
      else if (rankTo >= rankFrom)
        problems.push(
          `${where}: ${from} (layer ${rankFrom}) imports ${to} (layer ${rankTo}): imports go down the layers only`,
        );
    }
  }
  problems.push(
    ...circles(graph).map((cycle) => `import circle: ${cycle.map((f) => relative(process.cwd(), f)).join(' → ')}`),
  );
  return problems;
}

/**
 * The import circles among files, type imports included: a type import leaves nothing at run
 * time, but two files that need each other's definitions are one responsibility split wrongly.
 */
function circles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string) => {
    state.set(file, 'open');
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 'open') found.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  return found;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const problems = checkImports(process.argv[2] ?? 'src');
  for (const problem of problems) process.stderr.write(`${problem}\n`);
  if (problems.length > 0) {
    process.stderr.write(`${problems.length} import problem(s): see scripts/check-imports.ts for the rules.\n`);
    process.exitCode = 1;
  }
}
