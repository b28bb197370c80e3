/**
 * The local page's rules for who may talk to it. The page can change the router and the host
 * firewall, and any web site the user visits can make the browser send requests to 127.0.0.1,
 * so every request is judged here before a route sees it:
 *
 * - from this machine only (the socket's peer is a loopback address);
 * - Host names this page (`127.0.0.1:PORT` or `localhost:PORT`): a rebound DNS name that points
 *   at 127.0.0.1 (DNS rebinding) carries its own name and is refused;
 * - the API needs the per-run key: given once in the URL that `porthole ui` prints, then kept
 *   in an HttpOnly, SameSite=Strict cookie named after the port;
 * - a request the browser says comes from another site or origin (Sec-Fetch-Site, Origin) is
 *   refused, and a change must be JSON (a cross-origin JSON request needs a preflight this page
 *   never answers).
 *
 * Pure: the server hands it the request's parts and answers the error it returns with 403.
 */
import { timingSafeEqual } from 'node:crypto';
import { PortholeError } from '../errors/index.js';
import { classifyAddress, isIpLiteral } from '../net/index.js';
import { uiOrigin } from './listen.js';

/** What the guard needs of a request. */
export interface GuardedRequest {
  readonly method: string;
  /** The path without the query. */
  readonly path: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The socket's peer address (undefined when unknown: refused). */
  readonly remoteAddress: string | undefined;
}

/** Where the page is served and its key. */
export interface GuardPolicy {
  /** The loopback address the page listens on. */
  readonly host: string;
  readonly port: number;
  readonly token: string;
}

/** What a request is, for the rules: the page, its files, reading the API, or changing something. */
export type RequestKind = 'page' | 'asset' | 'read' | 'change';

/** The cookie that carries the key; named after the port, since cookies ignore ports and two pages may run. */
export function tokenCookieName(port: number): string {
  return `porthole_ui_${port}`;
}

/** The Set-Cookie value that hands the browser the key after it opened the printed URL. */
export function tokenCookie(policy: GuardPolicy): string {
  return `${tokenCookieName(policy.port)}=${policy.token}; Path=/; HttpOnly; SameSite=Strict`;
}

/** The headers every answer carries: nothing inline, nothing framed, nothing sniffed, no referrer. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

function header(request: GuardedRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The kind of a request, by method and path. */
export function requestKind(request: Pick<GuardedRequest, 'method' | 'path'>): RequestKind {
  if (request.method !== 'GET' && request.method !== 'HEAD') return 'change';
  if (request.path === '/') return 'page';
  if (request.path.startsWith('/api/')) return 'read';
  return 'asset';
}

/** The cookie's key, if the request carries one. */
export function tokenOf(request: GuardedRequest, port: number): string | undefined {
  const name = tokenCookieName(port);
  for (const part of (header(request, 'cookie') ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return value.join('=');
  }
  return undefined;
}

/** Compares keys in constant time (a key's length is not secret: it is always the same). */
export function sameToken(given: string | undefined, token: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function refuse(detail: string): PortholeError {
  return new PortholeError('E_UI_FORBIDDEN', { detail });
}

/** Whether the socket's peer is this machine. */
function fromLoopback(address: string | undefined): boolean {
  if (!address || !isIpLiteral(address)) return false;
  return classifyAddress(address) === 'loopback';
}

/** The names this page answers to: its own address and `localhost`, with its port. */
function allowedHosts(policy: GuardPolicy): string[] {
  const own = uiOrigin(policy.host, policy.port).replace('http://', '');
  return [own, `localhost:${policy.port}`];
}

/**
 * Judges a request; returns the refusal (E_UI_FORBIDDEN, answered 403) or undefined to let it
 * through. `withKey` is true when the page's URL carried the right key (`/?token=`): the page
 * then answers by setting the cookie.
 */
export function guardRequest(request: GuardedRequest, policy: GuardPolicy, withKey = false): PortholeError | undefined {
  if (!fromLoopback(request.remoteAddress)) return refuse(`the request came from ${request.remoteAddress ?? '?'}`);
  const host = (header(request, 'host') ?? '').toLowerCase();
  if (!allowedHosts(policy).includes(host)) return refuse(`the request names the host "${host.slice(0, 100)}"`);
  const kind = requestKind(request);
  const site = header(request, 'sec-fetch-site');
  // `none`: the user opened the address (typed, pasted, or porthole opened the browser).
  const sites = kind === 'page' || kind === 'asset' ? ['same-origin', 'none'] : ['same-origin'];
  if (site !== undefined && !sites.includes(site)) return refuse(`the browser says the request is ${site}`);
  const origin = header(request, 'origin');
  if (origin !== undefined && !allowedHosts(policy).some((allowed) => origin.toLowerCase() === `http://${allowed}`))
    return refuse(`the request comes from ${origin.slice(0, 100)}`);
  if (kind === 'asset' || (kind === 'page' && withKey)) return undefined;
  if (!sameToken(tokenOf(request, policy.port), policy.token))
    return refuse('the request does not carry the page key (open the address `porthole ui` printed)');
  if (kind === 'change' && !/^application\/json\b/i.test(header(request, 'content-type') ?? ''))
    return refuse('a change must be sent as JSON');
  return undefined;
}
