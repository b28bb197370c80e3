/**
 * What the page can be asked to check: ports typed in, or an application's ports table, from a
 * path or from the example tables porthole ships (examples/*.yaml, one per system in the vendors'
 * documents). Reading a table here only describes it for the page; the runs load it themselves.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadManifest, loadManifestOrPorts, type Manifest } from '../manifest/index.js';
import { formatPortSpec } from '../net/index.js';

/** An example table, for the page's list. */
export interface ExampleTable {
  readonly name: string;
  readonly description: string;
  /** The file's path, as the runs are given it. */
  readonly path: string;
}

/** One row of a ports table, as the page lists it. */
export interface TableRow {
  readonly name: string;
  readonly direction: string;
  readonly ports: string;
  /** Made reachable from the internet (the rows the checklist checks inbound). */
  readonly expose: boolean;
  readonly description: string;
}

/**
 * The examples folder beside porthole's package.json: two levels up from src/ui when run from
 * source, three from dist/src/ui or the bundle's chunks; undefined when the package has none.
 */
export function examplesFolder(): string | undefined {
  let url = new URL('.', import.meta.url);
  for (let depth = 0; depth < 5; depth++) {
    url = new URL('..', url);
    try {
      const folder = fileURLToPath(new URL('examples/', url));
      if (readdirSync(folder).some((name) => name.endsWith('.yaml'))) return folder;
    } catch {
      // Not at this level; keep walking up.
    }
  }
  return undefined;
}

/** The example tables in `folder` (unreadable ones are left out: the page lists what it can check). */
export async function exampleTables(folder: string | undefined): Promise<ExampleTable[]> {
  if (!folder) return [];
  let names: string[];
  try {
    names = readdirSync(folder)
      .filter((name) => name.endsWith('.yaml'))
      .sort();
  } catch {
    return [];
  }
  const tables = await Promise.all(
    names.map(async (name) => {
      const path = join(folder, name);
      try {
        const manifest = await loadManifest(path);
        return [{ name: manifest.name, description: manifest.description ?? '', path }];
      } catch {
        return [];
      }
    }),
  );
  return tables.flat();
}

/** A source's rows: what the checklist will check (E_PORT_SPEC or E_MANIFEST_* when it is not one). */
export async function tableOf(source: string): Promise<{ name: string; rows: TableRow[] }> {
  const manifest: Manifest = await loadManifestOrPorts(source, { expose: true });
  return {
    name: manifest.name,
    rows: manifest.entries.map((entry) => ({
      name: entry.name,
      direction: entry.direction,
      ports: formatPortSpec(entry.ports),
      expose: entry.direction === 'inbound' && entry.expose === true,
      description: entry.description ?? '',
    })),
  };
}
