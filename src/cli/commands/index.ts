/** Every `porthole` subcommand, in the order of the contract. */
import type { CommandSpec } from '../commandSpec.js';
import { checkCommand } from './check.js';
import { cleanupCommand } from './cleanup.js';
import { configCommand } from './config.js';
import { discoverCommand } from './discover.js';
import { doctorCommand } from './doctor.js';
import { egressCommand } from './egress.js';
import { exposeCommand } from './expose.js';
import { firewallCommand } from './firewall.js';
import { gatewayCommand, mapCommand, mappingsCommand, unmapCommand } from './gateway.js';
import { manifestCommand } from './manifest.js';
import { nameCommand } from './name.js';
import { natCommand } from './nat.js';
import { probeCommand } from './probe.js';
import { relayCommand } from './relay.js';
import { serveCommand } from './serve.js';
import { uiCommand } from './ui.js';

const built: readonly CommandSpec[] = [
  serveCommand,
  checkCommand,
  probeCommand,
  egressCommand,
  gatewayCommand,
  mapCommand,
  unmapCommand,
  mappingsCommand,
  natCommand,
  manifestCommand,
  firewallCommand,
  doctorCommand,
  exposeCommand,
  relayCommand,
  nameCommand,
  discoverCommand,
  configCommand,
  cleanupCommand,
  uiCommand,
];

/** Contract order (PRODUCT.md), so `--help` reads like the contract. */
const ORDER = [
  'serve',
  'check',
  'probe',
  'egress',
  'gateway',
  'map',
  'unmap',
  'mappings',
  'nat',
  'manifest',
  'firewall',
  'doctor',
  'expose',
  'relay',
  'name',
  'discover',
  'config',
  'cleanup',
  'ui',
];

/** The registered commands, in the order `--help` lists them. */
export const commands: readonly CommandSpec[] = [...built].sort(
  (a, b) => ORDER.indexOf(a.name) - ORDER.indexOf(b.name),
);
