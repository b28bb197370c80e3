/**
 * Where the configuration lives and how it is read and written. Reading is synchronous and
 * loads the YAML parser and zod only when a file exists, so a command that takes --checker
 * pays nothing for configuration on a machine that has none (start-up: docs/BENCHMARKS.md).
 */
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Document } from 'yaml';
import { PortholeError } from '../errors/index.js';
import { portholeFolder, systemConfigFile } from '../system/index.js';
import { type ConfigFile, configSchemaWith } from './schema.js';

/** The files are small; a larger one is a mistake, not a configuration. */
const MAX_BYTES = 64 * 1024;

const require = createRequire(import.meta.url);
const yaml = () => require('yaml') as typeof import('yaml');
const schema = () => configSchemaWith((require('zod') as typeof import('zod')).z);

/** Where one layer of configuration comes from. */
export interface ConfigSource {
  /** `user`, `system`, or `PORTHOLE_CONFIG`. */
  readonly layer: 'PORTHOLE_CONFIG' | 'user' | 'system';
  readonly path: string;
}

/**
 * The user's file: config.yaml in porthole's configuration folder ($XDG_CONFIG_HOME/porthole, else
 * ~/.config/porthole; %APPDATA%\\porthole on Windows; ~/Library/Application Support/porthole on macOS).
 * Both are read from `env`, not from the process: an environment without either (a test's `{}`)
 * has no user file, so the user's own settings never leak into it.
 */
export function userConfigPath(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const folder = portholeFolder('config', env);
  return folder ? join(folder, 'config.yaml') : undefined;
}

/** The system file: /etc/porthole/config.yaml on Linux ($PORTHOLE_SYSTEM_CONFIG moves it, for packagers and tests). */
export function systemConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return systemConfigFile(env);
}

/** The files in precedence order: $PORTHOLE_CONFIG (instead of the user's file) or the user's, then the system's. */
export function configSources(env: NodeJS.ProcessEnv = process.env): ConfigSource[] {
  const named = env.PORTHOLE_CONFIG;
  const user = userConfigPath(env);
  return [
    ...(named && named !== ''
      ? [{ layer: 'PORTHOLE_CONFIG' as const, path: named }]
      : user
        ? [{ layer: 'user' as const, path: user }]
        : []),
    { layer: 'system', path: systemConfigPath(env) },
  ];
}

/** The file `config set` writes: the one $PORTHOLE_CONFIG names, else the user's (E_CONFIG_INVALID without a home). */
export function writableConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const [first] = configSources(env);
  if (!first || first.layer === 'system')
    throw new PortholeError('E_CONFIG_INVALID', {
      detail: 'no user configuration file: neither XDG_CONFIG_HOME nor HOME is set',
      hint: 'Set HOME or XDG_CONFIG_HOME, or name a file with PORTHOLE_CONFIG.',
    });
  return first.path;
}

function readText(path: string): string {
  const invalid = (reason: string, cause?: unknown) =>
    new PortholeError('E_CONFIG_INVALID', { detail: `${path}: ${reason}`, cause });
  let size: number;
  try {
    size = statSync(path).size;
  } catch (error) {
    throw invalid((error as Error).message, error);
  }
  if (size > MAX_BYTES) throw invalid(`larger than ${MAX_BYTES} bytes`);
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw invalid((error as Error).message, error);
  }
}

/** Parses and validates one file's text; E_CONFIG_INVALID names path:line:column and the key. */
export function parseConfig(text: string, path: string): ConfigFile {
  const { LineCounter, parseDocument } = yaml();
  const lines = new LineCounter();
  const document = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const where = (offset: number | undefined) => {
    const at = lines.linePos(offset ?? 0);
    return `${path}:${at.line}:${at.col}`;
  };
  const [syntax] = document.errors;
  if (syntax) throw new PortholeError('E_CONFIG_INVALID', { detail: `${where(syntax.pos[0])}: ${syntax.message}` });
  const value: unknown = document.toJS() ?? {};
  const result = schema().safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const keyPath = (issue?.path ?? []).map(String);
  const node = document.getIn(keyPath, true) as { range?: [number, number, number] } | undefined;
  const unknown = issue?.code === 'unrecognized_keys' ? ` (${(issue as { keys?: string[] }).keys?.join(', ')})` : '';
  throw new PortholeError('E_CONFIG_INVALID', {
    detail: `${where(node?.range?.[0])}: ${keyPath.join('.') || '(top)'}: ${issue?.message ?? 'invalid'}${unknown}`,
  });
}

/** One file's configuration, or undefined when the file does not exist. */
export function readConfigFile(path: string): ConfigFile | undefined {
  if (!existsSync(path)) return undefined;
  return parseConfig(readText(path), path);
}

/**
 * Sets (or, with `value` undefined, removes) one dotted key in the file at `path`, keeping
 * its comments; validates the result before writing; writes atomically (temporary file and
 * rename), readable by the owner only since it may name secret files.
 */
export function writeConfigValue(path: string, key: string, value: unknown): void {
  const { parseDocument } = yaml();
  const text = existsSync(path) ? readText(path) : '';
  const document: Document = parseDocument(text);
  if (document.errors.length > 0) parseConfig(text, path);
  const keyPath = key.split('.');
  if (value === undefined) {
    document.deleteIn(keyPath);
    // A section left empty goes too: `relay: {}` after removing relay.url says nothing.
    for (let depth = keyPath.length - 1; depth > 0; depth--) {
      const parent = document.getIn(keyPath.slice(0, depth)) as { items?: unknown[] } | undefined;
      if (parent?.items?.length !== 0) break;
      document.deleteIn(keyPath.slice(0, depth));
    }
  } else document.setIn(keyPath, value);
  const next = document.toString();
  parseConfig(next, path);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, next, { mode: 0o600 });
  renameSync(temporary, path);
}
