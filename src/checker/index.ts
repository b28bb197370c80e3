/** Public face of src/checker: the check service, and (from src/checkerClient) the client that asks one. */

/** The client that asks a check service, re-exported here as before it had a folder of its own. */
export {
  type CheckerCallOptions,
  type CheckerEndpoint,
  type CheckResponse,
  checkerEndpoints,
  checkerUrl,
  type FamilyChoice,
  requestCheck,
  requestPublicIp,
} from '../checkerClient/index.js';
export { buildChecker, type CheckerOptions, DEFAULT_CHECKER_OPTIONS } from './app.js';
export { type PageFamilies, parsePageFamilies } from './pageFamilies.js';
export { defaultDataDir, parseListen, type RunningChecker, type ServeOptions, startChecker } from './serve.js';
