/**
 * One HTTP(S) request over a chosen address family: a checker whose name has both A and AAAA
 * records is asked once over each, which fetch's happy eyeballs cannot promise. The answer body
 * is capped; the deadline and cancellation come from the caller's signal.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { settleOnce } from '../deadline/index.js';
import { PortholeError } from '../errors/index.js';

/** A checker answers with small JSON documents; anything larger is not one. */
const MAX_BODY_BYTES = 1 << 20;

/** What came back. */
export interface FamilyAnswer {
  readonly status: number;
  readonly text: string;
}

/** Sends one request to `url` over IPv4 or IPv6 only. Network failures reject with the system error. */
export function requestOverFamily(
  url: URL,
  init: { method: 'GET' | 'POST'; headers?: Record<string, string>; body?: string },
  family: 4 | 6,
  signal: AbortSignal,
): Promise<FamilyAnswer> {
  const body = init.body === undefined ? undefined : Buffer.from(init.body, 'utf8');
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  let outgoing: ReturnType<typeof httpRequest> | undefined;
  return settleOnce<FamilyAnswer>(
    signal,
    (done) => {
      outgoing = send(
        url,
        {
          method: init.method,
          family,
          headers: { ...init.headers, ...(body ? { 'content-length': String(body.length) } : {}) },
        },
        (response) => {
          const chunks: Buffer[] = [];
          let size = 0;
          response.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_BODY_BYTES)
              done(
                new PortholeError('E_CHECKER_REFUSED', { detail: `the answer is larger than ${MAX_BODY_BYTES} bytes` }),
              );
            else chunks.push(chunk);
          });
          response.on('end', () =>
            done(undefined, { status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
          );
          response.on('error', (error) => done(error));
        },
      );
      outgoing.on('error', (error) => done(error));
      outgoing.end(body);
    },
    () => outgoing?.destroy(),
  );
}
