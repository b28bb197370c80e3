/**
 * The one error handler of porthole's Fastify services (the check service, the fleet's front):
 * every refusal is `{"error": {code, message, hint}}` with the status the error registry gives
 * its code, Fastify's own refusals (schema validation, bad JSON, content type, body size) become
 * E_CHECK_REQUEST (413 for a body over the limit and 415 for a content type no parser reads, as
 * RFC 9110 §15.5.14 and §15.5.16 say), and anything else is a logged 500 E_INTERNAL that tells the caller nothing more.
 */
import type { FastifyError, FastifyInstance } from 'fastify';
import { httpStatusFor, PortholeError } from '../errors/index.js';

/**
 * Ajv settings for services whose bodies are validated by schema. Types are not coerced (a
 * `true` port stays a wrong type instead of becoming the string "true"); union types are how the
 * check body says "a string or a number"; `verbose` hands the error handler the failing schema,
 * whose `description` words the refusal.
 */
export const SERVICE_AJV_OPTIONS = { coerceTypes: false, allowUnionTypes: true, verbose: true } as const;

/** Options of {@link answerErrors}. */
export interface AnswerErrorsOptions {
  /** Called with each refusal answered (not internal errors); the checker counts them by code. */
  readonly onRefused?: (error: PortholeError) => void;
}

/** A thrown value as the caller sees it: a coded error and the HTTP status it is answered with. */
export interface HttpRefusal {
  readonly error: PortholeError;
  readonly status: number;
}

/** One Ajv error as Fastify hands it over (`verbose` adds the failing schema). */
interface SchemaError {
  readonly keyword: string;
  readonly instancePath: string;
  readonly params: Record<string, unknown>;
  readonly message?: string;
  readonly parentSchema?: { description?: string; properties?: Record<string, { description?: string }> };
}

/** A JSON pointer into the body as a field name: `/proof/key` → `proof.key`, `/ports/2` → `ports[2]`. */
function fieldName(pointer: string): string {
  return pointer
    .split('/')
    .filter((part) => part !== '')
    .reduce((name, part) => (/^\d+$/.test(part) ? `${name}[${part}]` : name ? `${name}.${part}` : part), '');
}

/** Words for a schema refusal that name the field and what it should have been. */
export function schemaErrorDetail(errors: readonly SchemaError[] | undefined, fallback: string): string {
  const first = errors?.[0];
  if (!first) return fallback;
  const at = fieldName(first.instancePath);
  if (first.keyword === 'required') {
    const missing = String(first.params.missingProperty ?? '');
    const want = first.parentSchema?.properties?.[missing]?.description;
    return `"${at ? `${at}.${missing}` : missing}" is missing${want ? `; send ${want}` : ''}`;
  }
  const want = first.parentSchema?.description;
  const what =
    first.keyword === 'type'
      ? `must be ${String(first.params.type).split(',').join(' or ')}`
      : first.keyword === 'pattern'
        ? 'has characters that are not allowed'
        : (first.message ?? 'is not valid');
  return `${at ? `"${at}"` : 'the body'} ${what}${want ? ` (expected ${want})` : ''}`;
}

/**
 * What a thrown value becomes on the wire; undefined for an internal error. A PortholeError
 * whose code has no registry status is a code no route planned for: usage 400, otherwise 500.
 */
export function refusalFor(
  thrown: unknown,
  request: { bodyLimit?: number; contentType?: string } = {},
): HttpRefusal | undefined {
  if (thrown instanceof PortholeError) {
    return { error: thrown, status: httpStatusFor(thrown.code) ?? (thrown.kind === 'usage' ? 400 : 500) };
  }
  const error = thrown as Partial<FastifyError> & { validation?: readonly SchemaError[] };
  const message = error.message ?? String(thrown);
  if (error.code === 'FST_ERR_VALIDATION' || error.validation) {
    const detail = schemaErrorDetail(error.validation, message);
    return { error: new PortholeError('E_CHECK_REQUEST', { detail, cause: thrown }), status: 400 };
  }
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    const detail = request.bodyLimit ? `the body is larger than ${request.bodyLimit} bytes` : message;
    return { error: new PortholeError('E_CHECK_REQUEST', { detail, cause: thrown }), status: 413 };
  }
  if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    // The caller's own header, cut short: it is echoed back, not trusted.
    const detail = `the content type ${(request.contentType ?? '(none)').slice(0, 80)} is not read; send application/json`;
    return { error: new PortholeError('E_CHECK_REQUEST', { detail, cause: thrown }), status: 415 };
  }
  // 400 covers malformed JSON (the parser's SyntaxError), an empty JSON body and a bad Content-Length.
  if (error.statusCode === 400) {
    return { error: new PortholeError('E_CHECK_REQUEST', { detail: message, cause: thrown }), status: 400 };
  }
  return undefined;
}

/** Sets the error handler on `app` (before its route plugins are registered, so they inherit it). */
export function answerErrors(app: FastifyInstance, options: AnswerErrorsOptions = {}): void {
  app.setErrorHandler((thrown, request, reply) => {
    const refusal = refusalFor(thrown, {
      bodyLimit: request.routeOptions.bodyLimit,
      ...(request.headers['content-type'] ? { contentType: request.headers['content-type'] } : {}),
    });
    if (!refusal) {
      request.log.error({ err: thrown }, 'internal error');
      return reply.status(httpStatusFor('E_INTERNAL') ?? 500).send({ error: new PortholeError('E_INTERNAL').toJSON() });
    }
    if (thrown instanceof PortholeError && httpStatusFor(thrown.code) === undefined) {
      request.log.warn({ err: thrown }, 'answered a code the error registry gives no HTTP status');
    }
    options.onRefused?.(refusal.error);
    // The rate-limit plugin sets Retry-After itself; the front's own limits say it in the error's data.
    if (refusal.error.code === 'E_RATE_LIMITED' && !reply.hasHeader('retry-after')) {
      reply.header('retry-after', String(refusal.error.data?.retryAfter ?? 1));
    }
    return reply.status(refusal.status).send({ error: refusal.error.toJSON() });
  });
}
