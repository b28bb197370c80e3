/** Public face of src/system: running system commands, porthole's folders, and its state files. */
export { type CommandRunner, localRunner, type RunOptions, type RunResult, run } from './command.js';
export { type FolderKind, portholeFolder, requiredFolder, systemConfigFile } from './folders.js';
export { processAlive } from './processes.js';
export { type QuarantinedFile, readStateFile, takeQuarantinedStateFiles, writeStateFile } from './stateFile.js';
export { packageVersion } from './version.js';
