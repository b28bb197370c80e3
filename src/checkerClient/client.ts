/** Talking to a check service: POST /v1/check and GET /v1/ip, with deadlines and coded errors. */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { resolveSetting } from '../config/index.js';
import { type AbortOptions, withDeadline } from '../deadline/index.js';
import { PortholeError } from '../errors/index.js';
import type { ProbeResult } from '../probe/index.js';
import { CHECKER_CONNECT_TIMEOUT_MS, portOf, unreachableHint, watchConnect } from './connectWatch.js';
import { requestOverFamily } from './familyRequest.js';

/** Options of a request to the checker: over one address family only, when given. */
export interface CheckerCallOptions extends AbortOptions {
  readonly family?: 4 | 6;
}

/** What the checker answers to a check. */
export interface CheckResponse {
  readonly target: string;
  readonly proof: boolean;
  readonly results: readonly ProbeResult[];
  readonly ms: number;
}

/** Longest a checker may take: its probes run in parallel, each bounded by its own deadline. */
const CHECK_DEADLINE_MS = 30_000;

/**
 * The checker URL: --checker, else $PORTHOLE_CHECKER, else the configuration file (the first
 * of a list); never a built-in public one. E_NO_CHECKER when none is named, E_CHECKER_URL when
 * the one named is not an http(s) URL.
 */
export function checkerUrl(option: unknown, env: NodeJS.ProcessEnv): URL {
  const resolved = resolveSetting('checker', typeof option === 'string' ? option : undefined, env);
  if (!resolved) throw new PortholeError('E_NO_CHECKER');
  const text = String(Array.isArray(resolved.value) ? resolved.value[0] : resolved.value);
  const from = resolved.from === 'flag' ? '--checker' : resolved.from;
  const url = URL.canParse(text) ? new URL(text) : undefined;
  if (url?.protocol !== 'http:' && url?.protocol !== 'https:') {
    throw new PortholeError('E_CHECKER_URL', {
      detail: `"${text}" (from ${from}) is not an http(s) URL`,
      data: { checker: text, from },
    });
  }
  return url;
}

/** The checker URL when one is named (flag, environment or configuration), else undefined: for commands where it is optional. */
export function optionalCheckerUrl(option: unknown, env: NodeJS.ProcessEnv): URL | undefined {
  return resolveSetting('checker', typeof option === 'string' ? option : undefined, env)
    ? checkerUrl(option, env)
    : undefined;
}

async function call<T>(
  url: URL,
  init: { method: 'GET' | 'POST'; headers?: Record<string, string>; body?: string },
  options: CheckerCallOptions,
): Promise<T> {
  const signal = withDeadline(options.signal, CHECK_DEADLINE_MS, `request to ${url.origin}`);
  // The handshake is checked first, with its own short deadline (connectWatch.ts): a port the
  // network drops ends in 3 s with the port named. Racing it beside fetch would not do: an
  // aborted fetch leaves its connection attempt running for undici's 10 s, and the process with it.
  const failure = await watchConnect(url, CHECKER_CONNECT_TIMEOUT_MS, signal, options.family);
  let response: { ok: boolean; status: number; text(): Promise<string> } | undefined;
  let fetchError: unknown;
  if (!failure) {
    try {
      if (options.family && isIP(url.hostname.replace(/^\[(.*)\]$/, '$1')) === 0) {
        // A name: ask over the family wanted, whatever happy eyeballs would have chosen.
        const answer = await requestOverFamily(url, init, options.family, signal);
        response = {
          ok: answer.status >= 200 && answer.status < 300,
          status: answer.status,
          text: async () => answer.text,
        };
      } else response = await fetch(url, { ...init, signal });
    } catch (error) {
      fetchError = error;
    }
  }
  if (!response) {
    if (options.signal?.aborted) throw options.signal.reason;
    const code =
      failure?.code ??
      (fetchError as { cause?: { code?: string } }).cause?.code ??
      (signal.aborted ? 'E_TIMEOUT' : undefined);
    const hint = unreachableHint(url, code);
    throw new PortholeError('E_CHECKER_UNREACHABLE', {
      detail: `${url.origin}: ${
        failure?.code === 'ETIMEDOUT'
          ? `no answer to a connection on port ${failure.port} in ${CHECKER_CONNECT_TIMEOUT_MS / 1000} s`
          : (code ?? (fetchError as Error).message)
      }`,
      ...(hint ? { hint } : {}),
      ...(fetchError ? { cause: fetchError } : failure?.error ? { cause: failure.error } : {}),
      data: { port: portOf(url), ...(code ? { reason: code } : {}) },
    });
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new PortholeError('E_CHECKER_REFUSED', {
      detail: `${url.origin} answered ${response.status} with something other than JSON`,
    });
  }
  if (!response.ok) {
    const error = (body as { error?: { code?: string; message?: string; hint?: string } }).error;
    throw new PortholeError('E_CHECKER_REFUSED', {
      detail: `${error?.code ?? response.status}: ${error?.message ?? 'no reason given'}`,
      ...(error?.hint ? { hint: error.hint } : {}),
      data: { status: response.status, checkerCode: error?.code },
    });
  }
  return body as T;
}

/**
 * Asks the checker to probe our public address on `ports`, with a proof key when listening.
 * Without a key there was nothing for the checker to verify: any `verified` it answers is dropped
 * (null), so a buggy or foreign checker cannot make a port proven; only porthole's own listener
 * answering the key, or the checker's connection seen on this host, proves a port.
 */
export async function requestCheck(
  checker: URL,
  ports: string,
  proofKey: Uint8Array | undefined,
  options: CheckerCallOptions = {},
): Promise<CheckResponse> {
  const body = { ports, ...(proofKey ? { proof: { key: Buffer.from(proofKey).toString('base64') } } : {}) };
  const response = await call<CheckResponse>(
    new URL('/v1/check', checker),
    { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) },
    options,
  );
  if (proofKey) return response;
  return {
    ...response,
    results: response.results.map(({ verifiedBy: _claimed, ...result }) => ({ ...result, verified: null })),
  };
}

/** Our public address as the checker sees it. */
export function requestPublicIp(
  checker: URL,
  options: CheckerCallOptions = {},
): Promise<{ address: string; family: number }> {
  return call(new URL('/v1/ip', checker), { method: 'GET' }, options);
}

/** What a check service says of its egress listener (GET /v1/egress). */
export interface EgressInfo {
  readonly address: string;
  /** Port specs (`1-65535/tcp`), '' when none. */
  readonly tcp: string;
  readonly udp: string;
  /** The Ed25519 public key its answers are signed with: SPKI DER, base64. */
  readonly publicKey: string;
}

/** Asks the checker where its egress listener answers and with which key. */
export async function requestEgressInfo(checker: URL, options: AbortOptions = {}): Promise<EgressInfo> {
  try {
    return await call<EgressInfo>(new URL('/v1/egress', checker), { method: 'GET' }, options);
  } catch (error) {
    const checkerCode = (error as PortholeError).data?.checkerCode;
    if (checkerCode === 'E_NO_EGRESS_LISTENER' || (error as PortholeError).data?.status === 404) {
      throw new PortholeError('E_NO_EGRESS_LISTENER', { detail: checker.origin, cause: error });
    }
    throw error;
  }
}

/** One way to the checker: the URL to ask and the address family the request goes over. */
export interface CheckerEndpoint {
  readonly family: 4 | 6;
  readonly url: URL;
}

/** Which families `check` asks over: both (what the checker's host offers), or one. */
export type FamilyChoice = 'ipv4' | 'ipv6' | 'both';

/**
 * The endpoints to ask: the checker URL over every family its host has (a literal address has
 * one; a name, each of its A and AAAA), and `checker6` for IPv6 when given (a checker known by
 * an IPv4 literal, or a name without AAAA). `family` keeps one of them; asking for a family with
 * no endpoint is E_NO_IPV6 / E_NO_CHECKER.
 */
export async function checkerEndpoints(
  checker: URL,
  options: AbortOptions & { checker6?: URL | undefined; family?: FamilyChoice | undefined } = {},
): Promise<CheckerEndpoint[]> {
  const host = checker.hostname.replace(/^\[(.*)\]$/, '$1');
  let families: (4 | 6)[];
  const literal = isIP(host);
  if (literal === 4 || literal === 6) families = [literal];
  else {
    try {
      const found = await lookup(host, { all: true });
      families = [...new Set(found.map((address) => (address.family === 6 ? 6 : 4) as 4 | 6))].sort();
    } catch (error) {
      throw new PortholeError('E_CHECKER_UNREACHABLE', {
        detail: `${host}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
        cause: error,
      });
    }
  }
  const endpoints: CheckerEndpoint[] = families
    .filter((family) => !(family === 6 && options.checker6))
    .map((family) => ({ family, url: checker }));
  if (options.checker6) endpoints.push({ family: 6, url: options.checker6 });
  const wanted = options.family ?? 'both';
  const chosen = endpoints.filter((e) => wanted === 'both' || e.family === (wanted === 'ipv6' ? 6 : 4));
  if (chosen.length === 0)
    throw new PortholeError(wanted === 'ipv6' ? 'E_NO_IPV6' : 'E_NO_CHECKER', {
      detail: `${checker.origin} has no ${wanted === 'ipv6' ? 'IPv6' : 'IPv4'} address${wanted === 'ipv6' ? ' (give --checker6 URL)' : ''}`,
    });
  return chosen;
}
