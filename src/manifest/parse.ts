/**
 * Reading a manifest: YAML or JSON text → validated Manifest, with every problem located by
 * file, line, column and field. Parsing is pure; loadManifest adds the file read.
 */
import { readFile, stat } from 'node:fs/promises';
import { type Document, isNode, LineCounter, parseDocument } from 'yaml';
import { PortholeError } from '../errors/index.js';
import {
  classifyAddress,
  isIpLiteral,
  mergeRanges,
  type PortRange,
  parseCidr,
  parsePortRangeText,
  transportsOf,
} from '../net/index.js';
import { type RawEntry, rawEntrySchema, rawManifestSchema } from './schema.js';
import type { Manifest, ManifestEntry, ManifestIssue, Peer } from './types.js';

/** Manifests are small tables; anything larger is a mistake (or an attack on the parser). */
const MAX_MANIFEST_BYTES = 1 << 20;

/** DNS name: dot-separated labels of letters, digits and inner hyphens, 253 characters at most. */
const FQDN =
  /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?$/;

type Path = readonly (string | number)[];

function fieldName(path: Path): string {
  return path.reduce<string>(
    (text, part) => (typeof part === 'number' ? `${text}[${part}]` : text ? `${text}.${part}` : part),
    '',
  );
}

/** Locates a path in the document: the deepest node that exists along it. */
function locate(doc: Document, lines: LineCounter, path: Path): { line: number; column: number } {
  for (let depth = path.length; depth >= 0; depth--) {
    const node = depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth), true);
    if (isNode(node) && node.range) {
      const position = lines.linePos(node.range[0]);
      return { line: position.line, column: position.col };
    }
  }
  return { line: 1, column: 1 };
}

/** Problems sorted as a reader meets them: by line, then column (stable for one position). */
function inFileOrder(issues: readonly ManifestIssue[]): ManifestIssue[] {
  return [...issues].sort((a, b) => a.line - b.line || a.column - b.column);
}

function manifestError(source: string, issues: ManifestIssue[]): PortholeError {
  const listed = issues.map(
    (issue) => `${issue.file}:${issue.line}:${issue.column}: ${issue.field || '(top)'}: ${issue.message}`,
  );
  return new PortholeError('E_MANIFEST_INVALID', {
    detail: `${source} has ${issues.length} problem${issues.length === 1 ? '' : 's'}:\n  ${listed.join('\n  ')}`,
    data: { file: source, issues },
  });
}

function parsePortValues(
  raw: RawEntry['port'],
  problems: (path: Path, message: string) => void,
): {
  spans: { start: number; end: number }[];
  text: string;
} {
  const items = Array.isArray(raw) ? raw : [raw];
  const spans: { start: number; end: number }[] = [];
  items.forEach((item, index) => {
    const path = Array.isArray(raw) ? ['port', index] : ['port'];
    const text = String(item).trim();
    if (text.includes('/')) {
      problems(path, `expected a port or range without a protocol (write the protocol in "protocol:"), got "${text}"`);
      return;
    }
    try {
      spans.push(parsePortRangeText(text));
    } catch (error) {
      problems(path, error instanceof PortholeError ? (error.detail ?? error.message) : String(error));
    }
  });
  return { spans, text: items.map(String).join(', ') };
}

function parsePeer(text: string): Peer | undefined {
  if (isIpLiteral(text.split('/')[0] ?? '')) {
    try {
      return { kind: 'cidr', text, cidr: parseCidr(text) };
    } catch {
      return undefined;
    }
  }
  return FQDN.test(text) ? { kind: 'fqdn', text: text.replace(/\.$/, '').toLowerCase() } : undefined;
}

/** The value at a path in parsed YAML, or undefined when a key on the way is absent. */
function valueAt(value: unknown, path: Path): unknown {
  let at = value;
  for (const part of path) {
    if (at === null || typeof at !== 'object') return undefined;
    at = (at as Record<string | number, unknown>)[part];
  }
  return at;
}

/** Parses the peers (`hosts:` or `peers:`), reporting each one that is not an address, range or name. */
function parsePeers(raw: Pick<RawEntry, 'hosts' | 'peers'>, problem: (path: Path, message: string) => void): Peer[] {
  if (raw.peers && raw.hosts) problem(['hosts'], 'expected either "peers" or "hosts", not both');
  const peerField = raw.hosts ? 'hosts' : 'peers';
  const peers: Peer[] = [];
  (raw.hosts ?? raw.peers ?? []).forEach((peerText, index) => {
    const peer = parsePeer(peerText.trim());
    if (peer) peers.push(peer);
    else problem([peerField, index], `expected an IP address, a CIDR range or a DNS name, got "${peerText}"`);
  });
  return peers;
}

/**
 * The meaning checks that need no other field (ports, peers), run on an entry whose shape is
 * wrong elsewhere: one run of `validate` lists every problem, not the first of each kind.
 */
function checkSoundFields(raw: unknown, problem: (path: Path, message: string) => void): void {
  if (raw === null || typeof raw !== 'object') return;
  const fields = raw as Record<string, unknown>;
  const port = rawEntrySchema.shape.port.safeParse(fields.port);
  if (port.success) parsePortValues(port.data, problem);
  const hosts = rawEntrySchema.shape.hosts.safeParse(fields.hosts);
  const peers = rawEntrySchema.shape.peers.safeParse(fields.peers);
  if (hosts.success && peers.success) {
    parsePeers({ ...(hosts.data ? { hosts: hosts.data } : {}), ...(peers.data ? { peers: peers.data } : {}) }, problem);
  }
}

/** Turns one raw entry into a ManifestEntry, reporting meaning problems through `problem`. */
function buildEntry(raw: RawEntry, line: number, problem: (path: Path, message: string) => void): ManifestEntry {
  const transports = transportsOf(raw.protocol) ?? [];
  const { spans, text } = parsePortValues(raw.port, problem);
  const ports: PortRange[] = mergeRanges(
    transports.flatMap((protocol) => spans.map((span) => ({ protocol, ...span }))),
  );
  const peers = parsePeers(raw, problem);

  if (raw.direction === 'multicast') {
    if (raw.group === undefined) problem([], 'expected "group:" (the multicast address) for a multicast entry');
    else if (!isIpLiteral(raw.group) || classifyAddress(raw.group) !== 'multicast') {
      problem(['group'], `expected a multicast address (224.0.0.0/4 or ff00::/8), got "${raw.group}"`);
    }
    if (raw.protocol !== 'udp') problem(['protocol'], 'expected udp: multicast is UDP');
  } else if (raw.group !== undefined) {
    problem(['group'], `"group" is only for multicast entries (this one is ${raw.direction})`);
  }
  if (raw.announce !== undefined && raw.direction !== 'multicast') {
    problem(['announce'], `"announce" is only for multicast entries (this one is ${raw.direction})`);
  }
  if (raw.expose && raw.direction !== 'inbound') {
    problem(['expose'], `"expose" is only for inbound entries (this one is ${raw.direction})`);
  }
  return {
    name: raw.name,
    direction: raw.direction,
    protocol: raw.protocol,
    transports,
    ports,
    portText: text,
    expose: raw.expose ?? false,
    required: raw.required ?? true,
    description: raw.description,
    peers,
    group: raw.group,
    ...(raw.announce ? { announce: raw.announce } : {}),
    line,
  };
}

/** Parses and validates manifest text (YAML or JSON). Throws E_MANIFEST_SYNTAX or E_MANIFEST_INVALID. */
export function parseManifest(text: string, source = '<manifest>'): Manifest {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    // Every syntax error, not the first: a file with two is fixed in one round.
    const errors = doc.errors
      .map((error) => {
        const position = lines.linePos(error.pos[0]);
        return { line: position.line, column: position.col, message: error.message.split('\n')[0] ?? 'unreadable' };
      })
      .sort((a, b) => a.line - b.line || a.column - b.column);
    const [first] = errors;
    throw new PortholeError('E_MANIFEST_SYNTAX', {
      detail: errors.map((error) => `${source}:${error.line}:${error.column}: ${error.message}`).join('\n  '),
      data: { file: source, line: first?.line, column: first?.column, errors },
    });
  }
  const issues: ManifestIssue[] = [];
  const report = (path: Path, message: string) =>
    issues.push({ file: source, ...locate(doc, lines, path), field: fieldName(path), message });

  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 50 });
  } catch (error) {
    // yaml reports an alias without its anchor (`*x`, found by fuzzing) and too many aliases
    // only here, as a ReferenceError, not in doc.errors: both are syntax problems of the file.
    throw new PortholeError('E_MANIFEST_SYNTAX', {
      detail: `${source}: ${(error as Error).message.split('\n')[0]}`,
      data: { file: source },
      cause: error,
    });
  }
  const shape = rawManifestSchema.safeParse(raw);
  if (!shape.success) {
    for (const issue of shape.error.issues) {
      const path = issue.path.filter((part): part is string | number => typeof part !== 'symbol');
      const value = valueAt(raw, path);
      // zod's enum message lists what was expected; the reader also needs what was written.
      const got = issue.code === 'invalid_value' && typeof value !== 'object' ? `, got ${JSON.stringify(value)}` : '';
      const message = `${issue.message.replace(/^Invalid (input|option): /, '')}${got}`;
      report(path, value === undefined && path.length > 0 ? `missing; ${message}` : message);
    }
    const rawPorts = valueAt(raw, ['ports']);
    if (Array.isArray(rawPorts)) {
      const names = new Set<unknown>();
      for (const [index, entry] of rawPorts.entries()) {
        const at = (path: Path, message: string) => report(['ports', index, ...path], message);
        const name = valueAt(entry, ['name']);
        if (typeof name === 'string' && names.has(name))
          at(['name'], `expected a unique name; "${name}" is used twice`);
        names.add(name);
        checkSoundFields(entry, at);
      }
    }
    throw manifestError(source, inFileOrder(issues));
  }

  const seen = new Set<string>();
  const entries = shape.data.ports.map((raw, index) => {
    const at = (path: Path, message: string) => report(['ports', index, ...path], message);
    if (seen.has(raw.name)) at(['name'], `expected a unique name; "${raw.name}" is used twice`);
    seen.add(raw.name);
    return buildEntry(raw, locate(doc, lines, ['ports', index]).line, at);
  });
  if (issues.length > 0) throw manifestError(source, inFileOrder(issues));
  return { name: shape.data.name, description: shape.data.description, entries, source };
}

/** Reads and validates a manifest file. Throws E_MANIFEST_READ when it cannot be read. */
export async function loadManifest(path: string): Promise<Manifest> {
  const unreadable = (reason: string, cause?: unknown) =>
    new PortholeError('E_MANIFEST_READ', { detail: `${path}: ${reason}`, cause, data: { file: path } });
  const reasonOf = (error: unknown) =>
    error instanceof Error ? error.message.replace(/^[A-Z]+: /, '') : String(error);
  let text: string;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw unreadable('not a regular file');
    if (info.size > MAX_MANIFEST_BYTES) throw unreadable(`larger than ${MAX_MANIFEST_BYTES} bytes`);
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (error instanceof PortholeError) throw error;
    throw unreadable(reasonOf(error), error);
  }
  return parseManifest(text, path);
}
