/**
 * The page's settings: the check service, the relay and the DNS name, read and written in the
 * one configuration file (src/config), so the page and the commands use the same values. A value
 * set by an environment variable wins over the file, and the page says so.
 */
import { checkerUrl } from '../checkerClient/index.js';
import { configKey, configValues, valueFromText, writableConfigPath, writeConfigValue } from '../config/index.js';
import { normalizeName } from '../dns/index.js';
import { PortholeError } from '../errors/index.js';
import { parseRelayUrl } from '../relay/index.js';

/** The page's fields and the configuration keys they edit. */
export const SETTING_FIELDS = { checker: 'checker', relay: 'relay.url', name: 'dns.name' } as const;

/** A field of the settings form. */
export type SettingField = keyof typeof SETTING_FIELDS;

/** One setting as the page shows it: its value and where it comes from (`unset`, `env PORTHOLE_CHECKER`, the file). */
export interface SettingView {
  readonly key: string;
  readonly value: string;
  readonly from: string;
  /** The environment sets it: a value saved in the file does not apply while that variable is set. */
  readonly fromEnvironment: boolean;
}

/** The settings, and the file the page writes. */
export interface SettingsView {
  readonly values: Readonly<Record<SettingField, SettingView>>;
  /** The file saved settings go to (null when this environment has none: no HOME). */
  readonly file: string | null;
}

function text(value: unknown): string {
  if (value === null || value === undefined) return '';
  return Array.isArray(value) ? value.join(', ') : String(value);
}

/** The settings as they resolve now. */
export function readSettings(env: NodeJS.ProcessEnv): SettingsView {
  const all = configValues(env);
  const values = Object.fromEntries(
    Object.entries(SETTING_FIELDS).map(([field, key]) => {
      const resolved = all[key];
      const from = resolved?.from ?? 'unset';
      return [field, { key, value: text(resolved?.value), from, fromEnvironment: from.startsWith('env ') }];
    }),
  ) as Record<SettingField, SettingView>;
  let file: string | null;
  try {
    file = writableConfigPath(env);
  } catch {
    file = null;
  }
  return { values, file };
}

/** Checks one field's text before it is written (E_CHECKER_URL, E_RELAY_URL, E_DNS_NAME). */
function checked(field: SettingField, value: string): void {
  if (field === 'checker') for (const url of value.split(',')) checkerUrl(url.trim(), {});
  if (field === 'relay') parseRelayUrl(value);
  if (field === 'name') normalizeName(value);
}

/**
 * Writes the fields given (an empty text removes the key from the file) and returns the settings
 * as they resolve afterwards. Every field is checked before any is written.
 */
export function writeSettings(env: NodeJS.ProcessEnv, given: Partial<Record<SettingField, string>>): SettingsView {
  const changes = Object.entries(given).filter(([field]) => Object.hasOwn(SETTING_FIELDS, field)) as [
    SettingField,
    string,
  ][];
  for (const [field, value] of changes) if (value.trim() !== '') checked(field, value.trim());
  const path = writableConfigPath(env);
  for (const [field, value] of changes) {
    const key = SETTING_FIELDS[field];
    const entry = configKey(key);
    if (!entry) throw new PortholeError('E_CONFIG_KEY', { detail: key });
    writeConfigValue(path, key, value.trim() === '' ? undefined : valueFromText(entry, value.trim()));
  }
  return readSettings(env);
}
