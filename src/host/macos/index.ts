/** Face of the macOS host adapter: the factory, and the pure pieces tests and the bench use. */
export { createMacosHost } from './adapter.js';
export { type AlfApp, type AlfState, parseSocketfilterfw } from './alf.js';
export { LSOF_LISTEN_ARGS, macosCommandsFor, SOCKETFILTERFW, SOCKETFILTERFW_ARGS } from './commands.js';
export { ALF, judgeMacosPort, type MacosFirewallFacts, PF } from './judge.js';
export { connectionsOn, listeningOn, parseLsofFields, parsePsCommands } from './lsof.js';
export { evaluatePf, parsePfInfo, parsePfRules } from './pf.js';
