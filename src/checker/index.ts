/** Public face of src/checker: the check service (the client that asks it is src/checkerClient). */
export { buildChecker, type CheckerOptions, DEFAULT_CHECKER_OPTIONS } from './app.js';
export { type PageFamilies, parsePageFamilies } from './pageFamilies.js';
export { defaultDataDir, parseListen, type RunningChecker, type ServeOptions, startChecker } from './serve.js';
