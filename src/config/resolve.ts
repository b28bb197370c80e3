/**
 * One resolution for every setting: flag > environment > user file (or $PORTHOLE_CONFIG) >
 * system file. Commands and the library ask here, so `porthole doctor 7001` with a configured
 * checker needs no flags, and `config show` can say where each value came from.
 */
import { PortholeError } from '../errors/index.js';
import { configSources, readConfigFile } from './files.js';
import { CONFIG_KEYS, type ConfigKey, configKey, valueFromText } from './keys.js';
import type { ConfigFile } from './schema.js';

/** A resolved value and where it came from: `flag`, `env NAME`, `user PATH`, `system PATH`, `PORTHOLE_CONFIG PATH`. */
export interface ResolvedSetting {
  readonly value: unknown;
  readonly from: string;
}

/** The configuration files as read, in precedence order (missing files left out). */
export interface ConfigLayers {
  readonly files: readonly { readonly from: string; readonly values: ConfigFile }[];
}

/** Reads the configuration files once (E_CONFIG_INVALID for a bad one). */
export function loadConfigLayers(env: NodeJS.ProcessEnv = process.env): ConfigLayers {
  const files: { from: string; values: ConfigFile }[] = [];
  for (const source of configSources(env)) {
    const values = readConfigFile(source.path);
    if (values) files.push({ from: `${source.layer} ${source.path}`, values });
  }
  return { files };
}

function valueAt(values: ConfigFile, key: string): unknown {
  let at: unknown = values;
  for (const part of key.split('.'))
    at = at && typeof at === 'object' ? (at as Record<string, unknown>)[part] : undefined;
  return at;
}

function entryOf(key: string): ConfigKey {
  const entry = configKey(key);
  if (!entry) throw new PortholeError('E_CONFIG_KEY', { detail: key });
  return entry;
}

/**
 * The value of `key`: the flag's when given, else its environment variable's, else the first
 * file that sets it; undefined when none does. An empty variable counts as unset.
 */
export function resolveSetting(
  key: string,
  flag: unknown,
  env: NodeJS.ProcessEnv = process.env,
  layers?: ConfigLayers,
): ResolvedSetting | undefined {
  const entry = entryOf(key);
  if (flag !== undefined && flag !== null) return { value: flag, from: 'flag' };
  const fromEnv = env[entry.env];
  if (fromEnv !== undefined && fromEnv !== '')
    return { value: valueFromText(entry, fromEnv), from: `env ${entry.env}` };
  for (const file of (layers ?? loadConfigLayers(env)).files) {
    const value = valueAt(file.values, key);
    if (value !== undefined) return { value, from: file.from };
  }
  return undefined;
}

/** Every key with its resolved value (null and `unset` when nothing sets it), for `config show`. */
export function configValues(env: NodeJS.ProcessEnv = process.env): Record<string, ResolvedSetting> {
  const layers = loadConfigLayers(env);
  return Object.fromEntries(
    CONFIG_KEYS.map((entry) => [
      entry.key,
      resolveSetting(entry.key, undefined, env, layers) ?? { value: null, from: 'unset' },
    ]),
  );
}

/**
 * A command's options with unset flags filled from the configuration: for every flag the
 * command declares that a key stands for (`--checker <url>` → checker), flag > env > files.
 * A command's own default gives way to a configured value. Returns the options and, for
 * --verbose, where each filled value came from.
 */
export function withConfiguredOptions(
  declared: readonly string[],
  options: Readonly<Record<string, unknown>>,
  env: NodeJS.ProcessEnv = process.env,
  /** Whether the user gave the option (a commander default is not a choice and gives way). */
  given: (name: string) => boolean = (name) => options[name] !== undefined,
): { options: Record<string, unknown>; filled: Record<string, string> } {
  const keys = CONFIG_KEYS.filter((entry) => entry.flag !== undefined && declared.includes(entry.flag));
  const filled: Record<string, string> = {};
  const result: Record<string, unknown> = { ...options };
  if (keys.length === 0) return { options: result, filled };
  let layers: ConfigLayers | undefined;
  for (const entry of keys) {
    const name = optionName(entry.flag as string);
    if (given(name)) continue;
    layers ??= loadConfigLayers(env);
    const resolved = resolveSetting(entry.key, undefined, env, layers);
    if (!resolved) continue;
    // Commands parse flags from text: a list of checkers goes in as the first, a number as its digits.
    const value = Array.isArray(resolved.value) ? resolved.value[0] : resolved.value;
    result[name] = typeof value === 'number' ? String(value) : value;
    filled[entry.key] = resolved.from;
  }
  return { options: result, filled };
}

/** Commander's option property for `--stun <host[:port]>`: `stun`; `--dry-run` → `dryRun`. */
function optionName(flag: string): string {
  const long = /--([a-z0-9-]+)/.exec(flag)?.[1] ?? '';
  return long.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
}
