/** Public face of src/checker: the check service and its client. */
export { buildChecker, type CheckerOptions, DEFAULT_CHECKER_OPTIONS } from './app.js';
export { callerAddress } from './callerAddress.js';
export {
  type CheckerCallOptions,
  type CheckerEndpoint,
  type CheckResponse,
  checkerEndpoints,
  checkerUrl,
  type FamilyChoice,
  requestCheck,
  requestPublicIp,
} from './client.js';
export { EXPLANATIONS, explain, FOUR_CAUSES, REASON_WORDS, reasonWords } from './explain.js';
export { type PageFamilies, parsePageFamilies } from './pageFamilies.js';
export { defaultDataDir, parseListen, type RunningChecker, type ServeOptions, startChecker } from './serve.js';
