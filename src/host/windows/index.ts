/** Face of the Windows host adapter: the factory, and the pure pieces tests and the bench use. */
export { createWindowsHost } from './adapter.js';
export { applyLines, applyScript, removeScript, windowsCommandsFor } from './apply.js';
export { judgeWindowsPort, WINDOWS_FIREWALL } from './judge.js';
export { parseWindowsConnections, windowsListeners } from './listeners.js';
export { parseWindowsProbe, parseWindowsSnapshot, type WindowsSnapshotResult } from './parse.js';
export { connectionsScript, inspectScript, POWERSHELL, powershellArgs, probeScript } from './script.js';
export type { WindowsProfileName, WindowsRule, WindowsSnapshot } from './types.js';
