/**
 * The page's two families, as test-ipv6.com does it: the operator names two URLs of this same
 * service, one reaching it over IPv4 only (a name with an A record alone) and one over IPv6 only
 * (AAAA alone), and the page asks both. Those are cross-origin fetches, so the service answers
 * CORS on /v1/ip and /v1/check, but only for the origins where the page is opened (named by the
 * operator; by default the two URLs' own origins). Nothing here has a default address: without
 * the URLs the page checks the one family the browser used, and says so.
 */
import { PortholeError } from '../errors/index.js';

/** The single-family URLs of this service, and the page origins allowed to call them. */
export interface PageFamilies {
  /** Base URL reaching this service over IPv4 only, ending in `/` (the API is under it). */
  readonly ipv4: string;
  /** Base URL reaching this service over IPv6 only, ending in `/`. */
  readonly ipv6: string;
  /** Origins (`http://host:port`) whose pages may call the two URLs: CORS and the page's own mode. */
  readonly origins: readonly string[];
}

/** One base URL from an option: http(s), no credentials, query or fragment, path ending in `/`. */
function baseUrl(text: string, flag: keyof typeof WANTED): URL {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw usage(`${flag} "${text}" is not a URL`, flag);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw usage(`${flag} "${text}" is not http or https`, flag);
  if (url.username || url.password || url.search || url.hash) {
    throw usage(`${flag} "${text}" has a user, a query or a fragment`, flag);
  }
  // The URL becomes a CSP source; its grammar has no room for these.
  if (/[;,'\s]/.test(url.href)) throw usage(`${flag} "${text}" holds a character a CSP source cannot`, flag);
  if (!url.pathname.endsWith('/')) url.pathname = `${url.pathname}/`;
  return url;
}

/** What each option's URL must name, and an example of it, for the hints. */
const WANTED = {
  '--page-ipv4': ['only an A record', 'http://ipv4.checker.example:8080/'],
  '--page-ipv6': ['only an AAAA record', 'http://ipv6.checker.example:8080/'],
  '--page-origin': ['the page on it', 'http://checker.example:8080'],
} as const;

function usage(detail: string, flag: keyof typeof WANTED): PortholeError {
  const [what, example] = WANTED[flag];
  return new PortholeError('E_USAGE', {
    detail,
    hint: `Write ${flag} http://NAME:PORT/ with a name of this service that has ${what}, e.g. ${example}.`,
  });
}

/**
 * The page's families from the options' text; undefined when neither URL is given (the page
 * then checks the family the browser used). Both or neither: one family alone is no comparison.
 */
export function parsePageFamilies(options: {
  readonly ipv4?: string | undefined;
  readonly ipv6?: string | undefined;
  readonly origins?: string | undefined;
}): PageFamilies | undefined {
  if (options.ipv4 === undefined && options.ipv6 === undefined) {
    if (options.origins !== undefined) {
      throw new PortholeError('E_USAGE', {
        detail: '--page-origin without --page-ipv4 and --page-ipv6',
        hint: 'Add --page-ipv4 URL and --page-ipv6 URL: the origins are allowed to call those.',
      });
    }
    return undefined;
  }
  if (options.ipv4 === undefined || options.ipv6 === undefined) {
    throw new PortholeError('E_USAGE', {
      detail: `${options.ipv4 === undefined ? '--page-ipv6' : '--page-ipv4'} without ${options.ipv4 === undefined ? '--page-ipv4' : '--page-ipv6'}`,
      hint: 'Give both --page-ipv4 URL (a name with only an A record) and --page-ipv6 URL (only AAAA), or neither.',
    });
  }
  const ipv4 = baseUrl(options.ipv4, '--page-ipv4');
  const ipv6 = baseUrl(options.ipv6, '--page-ipv6');
  if (ipv4.origin === ipv6.origin) {
    throw new PortholeError('E_USAGE', {
      detail: `--page-ipv4 and --page-ipv6 are the same origin (${ipv4.origin})`,
      hint: 'Name two addresses of this service: one with only an A record, one with only an AAAA record.',
    });
  }
  const named = (options.origins ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '')
    .map((item) => {
      const url = baseUrl(item, '--page-origin');
      if (url.pathname !== '/') throw usage(`--page-origin "${item}" has a path; an origin has none`, '--page-origin');
      return url.origin;
    });
  const origins = [...new Set([...named, ipv4.origin, ipv6.origin])];
  return { ipv4: ipv4.href, ipv6: ipv6.href, origins };
}

/** The origin to echo in Access-Control-Allow-Origin, or undefined: only the configured origins get one. */
export function allowedOrigin(
  families: PageFamilies | undefined,
  origin: string | string[] | undefined,
): string | undefined {
  if (!families || typeof origin !== 'string') return undefined;
  return families.origins.includes(origin) ? origin : undefined;
}
