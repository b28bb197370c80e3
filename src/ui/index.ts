/**
 * Public face of src/ui: `porthole ui`, a page on this computer's loopback address for people who
 * do not use a terminal. It runs the same library calls as the commands (diagnose, expose,
 * openHostFirewall, cleanupLeftovers) and shows the doctor's checklist hop by hop as it is checked.
 */
export { buildUi, type UiApp, type UiAppOptions } from './app.js';
export {
  type GuardedRequest,
  type GuardPolicy,
  guardRequest,
  SECURITY_HEADERS,
  tokenCookie,
  tokenCookieName,
} from './guard.js';
export { DEFAULT_UI_LISTEN, parseUiListen, type UiListen, uiOrigin } from './listen.js';
export { UI_FORBIDDEN_HTML, UI_PAGE_HTML } from './pageHtml.js';
export { uiScript } from './pageScript.js';
export { UI_STYLE } from './pageStyle.js';
export { type ErrorJson, type JobKind, type PageEvent, type PageFinding, PageRuns, type RunOptions } from './runs.js';
export { readSettings, SETTING_FIELDS, type SettingsView, writeSettings } from './settings.js';
export { type ExampleTable, examplesFolder, exampleTables, type TableRow, tableOf } from './sources.js';
export { openInBrowser, type RunningUi, type StartUiOptions, startUi } from './start.js';
