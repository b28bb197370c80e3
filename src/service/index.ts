/**
 * Public face of src/service: what porthole's HTTP services share (the check service and the
 * fleet's front): the check body's JSON schema, one error handler answering with the registry's
 * HTTP statuses, and the Node server settings a public service needs.
 */
export { type CheckBody, checkBodySchema, portSpecOf, proofKeyOf } from './checkBody.js';
export {
  type AnswerErrorsOptions,
  answerErrors,
  type HttpRefusal,
  refusalFor,
  SERVICE_AJV_OPTIONS,
  schemaErrorDetail,
} from './httpErrors.js';
export { publicServer } from './publicServer.js';
