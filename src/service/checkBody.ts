/**
 * The body of POST /v1/check: its JSON Schema, which the check service and the fleet's front hand
 * to Fastify (so the shape is refused before a route runs), and what the routes read from a body
 * that passed it. What a schema cannot say (the port spec's grammar, the key's decoded length)
 * stays here and in the routes.
 */
import { PortholeError } from '../errors/index.js';

/**
 * Base64 in either alphabet (RFC 4648 §4 and §5), padding optional, as Node's decoder reads it:
 * porthole sends padded standard base64, a page or a script may not.
 */
const BASE64 = '^[A-Za-z0-9+/_-]+={0,2}$';

/** The schema of a check request's body; each `description` words the refusal of that field. */
export const checkBodySchema = {
  type: 'object',
  description: 'a JSON object such as {"ports": "7001,5353/udp"}',
  required: ['ports'],
  // Unknown fields are ignored, as they always were: an older checker must not refuse a newer client.
  additionalProperties: true,
  properties: {
    ports: {
      type: ['string', 'integer', 'array'],
      description: 'a port spec string, a port number or a list of those',
      // Far above what --max-ports admits; the count itself is judged on the parsed spec.
      minLength: 1,
      maxLength: 4096,
      minItems: 1,
      maxItems: 1024,
      items: {
        type: ['string', 'integer'],
        description: 'a port spec string or a port number',
        minLength: 1,
        maxLength: 1024,
      },
    },
    proof: {
      type: 'object',
      description: 'an object {"key": BASE64}',
      required: ['key'],
      properties: {
        // 16 bytes are 22 characters unpadded, 64 bytes 88 padded.
        key: { type: 'string', description: '16 to 64 bytes in base64', minLength: 22, maxLength: 88, pattern: BASE64 },
      },
    },
    // Anything: a checker only probes its caller, and the answer says the target was ignored.
    target: { description: 'nothing: a checker only probes the caller' },
  },
} as const;

/** A body that passed {@link checkBodySchema}. */
export interface CheckBody {
  readonly ports: string | number | readonly (string | number)[];
  readonly proof?: { readonly key: string };
  readonly target?: unknown;
}

/** The body's ports as one port spec (a list is joined with commas). */
export function portSpecOf(body: CheckBody): string {
  return Array.isArray(body.ports) ? body.ports.join(',') : String(body.ports);
}

/** The caller's proof key; undefined when none was sent. */
export function proofKeyOf(body: CheckBody): Buffer | undefined {
  if (body.proof === undefined) return undefined;
  // The schema bounds the text; the decoded length still varies with the padding (87 characters are 65 bytes).
  const key = Buffer.from(body.proof.key, 'base64');
  if (key.length < 16 || key.length > 64) {
    throw new PortholeError('E_CHECK_REQUEST', {
      detail: `"proof.key" is ${key.length} bytes (expected 16 to 64 bytes in base64)`,
    });
  }
  return key;
}
