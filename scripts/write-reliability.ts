/**
 * docs/RELIABILITY.md is written by scripts, never by hand: each script owns one section
 * (between `<!-- section:ID -->` markers) and replaces only that, so the fuzz run, the router
 * fault suite and the crash-safety run can each refresh their own figures.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';

const DOC = new URL('../docs/RELIABILITY.md', import.meta.url);

const HEADER = [
  '# Reliability',
  '',
  'How porthole behaves under hostile input, router faults and abuse, as figures. Every section is written',
  'by the script it names (do not edit by hand); each says when, on what machine and with which versions.',
  '',
].join('\n');

/** The machine and versions a figure was measured with, as one line. */
export function machineLine(): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    // Not a git checkout: the figures still stand, without the commit.
  }
  const version = (file: string) =>
    (JSON.parse(readFileSync(new URL(file, import.meta.url), 'utf8')) as { version: string }).version;
  return [
    `${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}`,
    `${cpus().length} × ${cpu}, ${Math.round(totalmem() / 2 ** 30)} GiB, Linux ${release()}, load average ${loadavg()
      .map((load) => load.toFixed(1))
      .join(' ')} at the end (a shared machine)`,
    `Node ${process.version}, porthole ${version('../package.json')} (${commit}), fast-check ${version('../node_modules/fast-check/package.json')}`,
  ].join(' · ');
}

/** Replaces (or appends) one section of docs/RELIABILITY.md. */
export function writeReliabilitySection(id: string, markdown: string): void {
  const start = `<!-- section:${id} -->`;
  const end = `<!-- /section:${id} -->`;
  const block = `${start}\n${markdown.trim()}\n${end}`;
  const current = existsSync(DOC) ? readFileSync(DOC, 'utf8') : HEADER;
  const from = current.indexOf(start);
  const to = current.indexOf(end);
  if (from >= 0 && to > from) {
    writeFileSync(DOC, `${current.slice(0, from)}${block}${current.slice(to + end.length)}`);
    return;
  }
  // A new section goes before the first present one that comes after it in SECTION_ORDER.
  const later = SECTION_ORDER.slice(SECTION_ORDER.indexOf(id) + 1)
    .map((other) => current.indexOf(`<!-- section:${other} -->`))
    .filter((at) => at >= 0 && SECTION_ORDER.includes(id));
  const at = later.length > 0 ? Math.min(...later) : -1;
  writeFileSync(
    DOC,
    at >= 0 ? `${current.slice(0, at)}${block}\n\n${current.slice(at)}` : `${current.trimEnd()}\n\n${block}\n`,
  );
}

/** The order of the sections in the document, whichever script ran first. */
const SECTION_ORDER = ['fuzz', 'faults', 'crash', 'soak'];
