/**
 * HTTP to an Internet Gateway Device, with the rules that keep a hostile LAN device from
 * using porthole: URLs must name the answering gateway by a literal private (or link-local)
 * address, never a DNS name, loopback or another host; no redirects; bodies capped; a deadline.
 */
import { request } from 'node:http';
import { type AbortOptions, settleOnce, withDeadline } from '../deadline/index.js';
import { PortholeError } from '../errors/index.js';
import { classifyAddress, isIpLiteral } from '../net/index.js';
import { MAX_XML_BYTES } from './xml.js';

/** How long one HTTP exchange with a router may take. */
const HTTP_DEADLINE_MS = 3000;

/** Which addresses a gateway URL may name; tests of the HTTP layer pass their own. */
export type AddressPolicy = (url: URL, gateway: string) => string | undefined;

/** The strict policy: the literal private or link-local address of the answering gateway. */
export const gatewayOnly: AddressPolicy = (url, gateway) => {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (url.protocol !== 'http:') return `${url.protocol} is not http:`;
  if (!isIpLiteral(host)) return `"${host}" is a name, not an address (porthole never resolves names a router gives)`;
  const kind = classifyAddress(host);
  if (kind !== 'private' && kind !== 'link-local') return `${host} is ${kind}, not a private address on this network`;
  if (host !== gateway) return `${host} is not the gateway that answered (${gateway})`;
  return undefined;
};

/** An HTTP exchange's outcome. */
export interface HttpAnswer {
  readonly status: number;
  readonly body: string;
}

/** Sends one request and reads at most MAX_XML_BYTES of the answer. No redirects are followed. */
export function igdRequest(
  url: string,
  gateway: string,
  init: {
    method: 'GET' | 'POST';
    headers?: Record<string, string>;
    body?: string;
    policy?: AddressPolicy;
    /**
     * The local address to send from. IGDv2 pinholes need it: miniupnpd answers 606 unless the
     * SOAP request comes from the InternalClient address, and a host has several IPv6 addresses.
     */
    localAddress?: string;
  } & AbortOptions,
): Promise<HttpAnswer> {
  const target = new URL(url);
  const refused = (init.policy ?? gatewayOnly)(target, gateway);
  if (refused) return Promise.reject(new PortholeError('E_GATEWAY_URL', { detail: `${url}: ${refused}` }));
  const signal = withDeadline(init.signal, HTTP_DEADLINE_MS, `HTTP ${init.method} ${url}`);
  const body = init.body === undefined ? undefined : Buffer.from(init.body, 'utf8');
  let outgoing: ReturnType<typeof request> | undefined;
  return settleOnce<HttpAnswer>(
    signal,
    (done) => {
      outgoing = request(
        target,
        {
          method: init.method,
          ...(init.localAddress ? { localAddress: init.localAddress } : {}),
          headers: { ...init.headers, ...(body ? { 'content-length': String(body.length) } : {}), connection: 'close' },
        },
        (response) => {
          const status = response.statusCode ?? 0;
          if (status >= 300 && status < 400) {
            response.resume();
            done(
              new PortholeError('E_GATEWAY_URL', {
                detail: `${url} redirects (${status}); porthole follows no redirect from a router`,
              }),
            );
            return;
          }
          const chunks: Buffer[] = [];
          let size = 0;
          response.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_XML_BYTES) {
              done(
                new PortholeError('E_XML_REFUSED', {
                  detail: `${url}: the body is larger than ${MAX_XML_BYTES} bytes`,
                }),
              );
              return;
            }
            chunks.push(chunk);
          });
          response.on('end', () => done(undefined, { status, body: Buffer.concat(chunks).toString('utf8') }));
          response.on('error', (error) => done(error));
        },
      );
      outgoing.on('error', (error) =>
        done(new PortholeError('E_GATEWAY_UNREACHABLE', { detail: `${url}: ${error.message}`, cause: error })),
      );
      outgoing.end(body);
    },
    () => outgoing?.destroy(),
  );
}
