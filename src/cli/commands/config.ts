/** `porthole config (show|set|path) [KEY [VALUE]]`: the one configuration file, and where each value comes from. */
import { PortholeError } from '../../errors/index.js';
import type { CommandSpec } from '../commandSpec.js';

const configModule = () => import('../../config/index.js');

function shown(value: unknown): string {
  if (value === null) return '';
  return Array.isArray(value) ? value.join(', ') : String(value);
}

/** The `config` command and its subcommands. */
export const configCommand: CommandSpec = {
  name: 'config',
  summary: 'show or set the configuration (checker, STUN, relay, DNS, defaults) and where each value comes from',
  subcommands: [
    {
      name: 'show',
      args: '[key]',
      summary: 'every key (or one) with its value and where it came from: flag > env > user file > system file',
      run: async ({ args, env }) => {
        const { configKey, configValues } = await configModule();
        const key = args[0];
        if (key !== undefined && !configKey(key)) throw new PortholeError('E_CONFIG_KEY', { detail: key });
        const all = configValues(env);
        const values = key === undefined ? all : { [key]: all[key] };
        const width = Math.max(...Object.keys(values).map((k) => k.length));
        return {
          exitCode: 0,
          json: { values },
          human: () =>
            Object.entries(values)
              .map(([k, v]) => `${k.padEnd(width)}  ${v?.from === 'unset' ? '-' : `${shown(v?.value)}  (${v?.from})`}`)
              .join('\n'),
        };
      },
    },
    {
      name: 'set',
      args: '<key> [value]',
      summary: 'set KEY to VALUE in your file (no VALUE: remove KEY); secrets go in files named by …File keys',
      run: async ({ args, env }) => {
        const { configKey, valueFromText, writableConfigPath, writeConfigValue } = await configModule();
        const [key = '', text] = args;
        const entry = configKey(key);
        if (!entry) throw new PortholeError('E_CONFIG_KEY', { detail: key });
        const path = writableConfigPath(env);
        const value = text === undefined ? undefined : valueFromText(entry, text);
        writeConfigValue(path, key, value);
        return {
          exitCode: 0,
          json: { key, value: value ?? null, file: path },
          human: () => (value === undefined ? `removed ${key} from ${path}` : `${key} = ${shown(value)} in ${path}`),
        };
      },
    },
    {
      name: 'path',
      summary: 'the configuration files, in precedence order, and which exist',
      run: async ({ env }) => {
        const { existsSync } = await import('node:fs');
        const { configSources, writableConfigPath } = await configModule();
        const files = configSources(env).map((source) => ({ ...source, exists: existsSync(source.path) }));
        return {
          exitCode: 0,
          json: { files, writes: writableConfigPath(env) },
          human: () =>
            files.map((f) => `${f.layer.padEnd(15)} ${f.path}${f.exists ? '' : '  (does not exist)'}`).join('\n'),
        };
      },
    },
  ],
};
