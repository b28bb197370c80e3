/**
 * Bundles the `porthole` command into dist/cli/: one entry file with the frame and every
 * command's spec, and a lazy chunk per `import()` (a module loads when its command runs), so a
 * cold start reads a few files instead of a hundred. Dependencies stay external, except the
 * small pure-JavaScript ones a mapping or a diagnosis loads (the argument parser, the manifest's
 * YAML and schema, the routers' XML, DNS messages): inlined, they are read as one file instead of
 * about 150 (zod alone is 95), about 100 ms of a cold `porthole map`. The library build stays
 * plain tsc output (dist/src).
 */
import { chmodSync, readFileSync, rmSync } from 'node:fs';
import { build } from 'esbuild';

const root = new URL('..', import.meta.url);
const manifest = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as {
  dependencies: Record<string, string>;
};
/** Loaded by the everyday commands: inlined rather than resolved through node_modules at each start. */
const INLINED = new Set(['commander', 'zod', 'yaml', 'fast-xml-parser', 'dns-packet']);
const outdir = new URL('dist/cli/', root).pathname;

rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: { main: new URL('src/cli/main.ts', root).pathname },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: Object.keys(manifest.dependencies).filter((name) => !INLINED.has(name)),
  chunkNames: 'chunks/[name]-[hash]',
  // commander is CommonJS: give the ESM bundle a `require` for what it requires.
  banner: {
    js: "import { createRequire as __portholeRequire } from 'node:module';\nconst require = __portholeRequire(import.meta.url);",
  },
  legalComments: 'none',
  logLevel: 'warning',
});
chmodSync(`${outdir}main.js`, 0o755);
