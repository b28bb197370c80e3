/**
 * How porthole speaks: exactly one JSON document on stdout with --json, otherwise human
 * text, coloured only on a TTY and never when NO_COLOR is set (https://no-color.org).
 */
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { causeChain, type PortholeError, toPortholeError } from '../errors/index.js';

/** Where a command writes, and how. */
export interface OutputOptions {
  readonly stdout: Writable & { isTTY?: boolean };
  readonly stderr: Writable & { isTTY?: boolean };
  readonly env: NodeJS.ProcessEnv;
  readonly json: boolean;
  readonly verbose: boolean;
}

/** ANSI styles we use; each maps to an SGR open/close pair. */
const STYLES = {
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  dim: [2, 22],
  bold: [1, 22],
} as const;

/** A style name for `Output.style`. */
export type Style = keyof typeof STYLES;

/** Arrays longer than this are written one item per line, in pieces (a 65535-port sweep). */
const LONG_ARRAY = 1000;
const PIECE = 1000;

/**
 * Writes one JSON document, indented. A top-level array field with many items is written
 * one compact item per line and in pieces, so the whole text never sits in memory twice.
 */
async function writeJson(out: Writable, json: unknown): Promise<void> {
  const long =
    json !== null && typeof json === 'object' && !Array.isArray(json)
      ? Object.entries(json).some(([, value]) => Array.isArray(value) && value.length > LONG_ARRAY)
      : false;
  if (!long) {
    out.write(`${JSON.stringify(json, null, 2)}\n`);
    return;
  }
  const entries = Object.entries(json as Record<string, unknown>).filter(([, value]) => value !== undefined);
  out.write('{\n');
  for (const [index, [key, value]] of entries.entries()) {
    const comma = index < entries.length - 1 ? ',' : '';
    if (!Array.isArray(value) || value.length <= LONG_ARRAY) {
      out.write(`  ${JSON.stringify(key)}: ${JSON.stringify(value, null, 2).replace(/\n/g, '\n  ')}${comma}\n`);
      continue;
    }
    out.write(`  ${JSON.stringify(key)}: [\n`);
    for (let start = 0; start < value.length; start += PIECE) {
      const piece = value.slice(start, start + PIECE).map((item) => `    ${JSON.stringify(item)}`);
      // Wait for a slow reader: the pieces must not pile up in memory.
      if (!out.write(`${piece.join(',\n')}${start + PIECE < value.length ? ',' : ''}\n`)) await once(out, 'drain');
    }
    out.write(`  ]${comma}\n`);
  }
  out.write('}\n');
}

/** The writer every command gets. */
export class Output {
  readonly json: boolean;
  readonly verbose: boolean;
  readonly color: boolean;
  readonly #options: OutputOptions;

  constructor(options: OutputOptions) {
    this.#options = options;
    this.json = options.json;
    this.verbose = options.verbose;
    const noColor = options.env.NO_COLOR !== undefined && options.env.NO_COLOR !== '';
    this.color = !options.json && !noColor && options.stdout.isTTY === true;
  }

  /** Wraps text in a colour when colour is on. */
  style(style: Style, text: string): string {
    if (!this.color) return text;
    const [open, close] = STYLES[style];
    return `\u001b[${open}m${text}\u001b[${close}m`;
  }

  /** Prints a command's result: the JSON document, or the human text. */
  async result(json: unknown, human: () => string, jsonLine = false): Promise<void> {
    if (this.json && jsonLine) this.#options.stdout.write(`${JSON.stringify(json)}\n`);
    else if (this.json) await writeJson(this.#options.stdout, json);
    else this.#options.stdout.write(ensureNewline(human()));
  }

  /** One JSON line on stdout (status while a command keeps running, with --json). */
  jsonLine(json: unknown): void {
    this.#options.stdout.write(`${JSON.stringify(json)}\n`);
  }

  /** A notice a person should see even without --verbose (a server's address): always stderr. */
  notice(text: string): void {
    this.#options.stderr.write(ensureNewline(text));
  }

  /**
   * A progress line on a terminal (stderr), redrawn in place; undefined clears it. Nothing at
   * all when stderr is not a terminal: logs and pipes get no carriage returns.
   */
  progress(text: string | undefined): void {
    if (this.#options.stderr.isTTY !== true) return;
    this.#options.stderr.write(text === undefined ? '\r\u001b[K' : `\r\u001b[K${text}`);
  }

  /** Progress and diagnostics for humans: stderr, only with --verbose, never in JSON mode's stdout. */
  debug(text: string): void {
    if (this.verbose) this.#options.stderr.write(ensureNewline(this.style('dim', text)));
  }

  /**
   * Reports an error: one JSON document `{error}` with --json, else message and hint on stderr
   * (an interruption is one line: nothing to fix). With --verbose the chain of causes follows on
   * stderr, one line per cause (a stack for a cause that is not one of ours).
   */
  error(thrown: unknown): PortholeError {
    const error = toPortholeError(thrown);
    if (this.json) {
      this.#options.stdout.write(`${JSON.stringify({ error: error.toJSON() }, null, 2)}\n`);
    } else if (error.code === 'E_ABORTED') {
      this.#options.stderr.write(`${this.style('yellow', `${error.code}`)}: ${error.message}\n`);
    } else {
      this.#options.stderr.write(`${this.style('red', `error ${error.code}`)}: ${error.message}\n`);
      this.#options.stderr.write(`${this.style('dim', 'hint')}: ${error.hint}\n`);
      // What the failed run made and could not remove: never left unsaid.
      const left = Array.isArray(error.data?.leftBehind)
        ? (error.data.leftBehind as { what: string; why: string }[])
        : [];
      for (const item of left)
        this.#options.stderr.write(
          `NOT removed: ${item.what} (${item.why}); \`porthole cleanup\` tries again once this process is gone\n`,
        );
    }
    if (this.verbose) {
      for (const cause of causeChain(error)) this.#options.stderr.write(`cause: ${describeCause(cause)}\n`);
    }
    return error;
  }
}

/** One cause for --verbose: a coded error by code and message, any other error by its stack. */
function describeCause(cause: unknown): string {
  const code = (cause as { code?: unknown } | null)?.code;
  if (cause instanceof Error) {
    const head = typeof code === 'string' ? `${code} ` : '';
    return (code as string | undefined)?.startsWith('E_')
      ? `${head}${cause.message}`
      : `${head}${cause.stack ?? cause.message}`;
  }
  return String(cause);
}

function ensureNewline(text: string): string {
  return text.endsWith('\n') || text === '' ? text : `${text}\n`;
}
