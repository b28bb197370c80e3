/** Public face of src/config: the one configuration file, its keys, and the resolution flag > env > user > system. */
export {
  type ConfigSource,
  configSources,
  parseConfig,
  readConfigFile,
  systemConfigPath,
  userConfigPath,
  writableConfigPath,
  writeConfigValue,
} from './files.js';
export { CONFIG_KEYS, type ConfigKey, configKey, valueFromText } from './keys.js';
export { positiveInteger } from './numbers.js';
export {
  type ConfigLayers,
  configValues,
  loadConfigLayers,
  type ResolvedSetting,
  resolveSetting,
  withConfiguredOptions,
} from './resolve.js';
export type { ConfigFile } from './schema.js';
