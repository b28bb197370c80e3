/** Talking to a check service: POST /v1/check and GET /v1/ip, with deadlines and coded errors. */
import { resolveSetting } from '../config/index.js';
import { type AbortOptions, withDeadline } from '../deadline/index.js';
import { PortholeError } from '../errors/index.js';
import type { ProbeResult } from '../probe/types.js';
import { CHECKER_CONNECT_TIMEOUT_MS, portOf, unreachableHint, watchConnect } from './connectWatch.js';

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
  try {
    const url = new URL(text);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http(s)');
    return url;
  } catch {
    throw new PortholeError('E_CHECKER_URL', {
      detail: `"${text}" (from ${from}) is not an http(s) URL`,
      data: { checker: text, from },
    });
  }
}

/** The checker URL when one is named (flag, environment or configuration), else undefined: for commands where it is optional. */
export function optionalCheckerUrl(option: unknown, env: NodeJS.ProcessEnv): URL | undefined {
  return resolveSetting('checker', typeof option === 'string' ? option : undefined, env)
    ? checkerUrl(option, env)
    : undefined;
}

async function call<T>(url: URL, init: RequestInit, options: AbortOptions): Promise<T> {
  const signal = withDeadline(options.signal, CHECK_DEADLINE_MS, `request to ${url.origin}`);
  // The handshake is checked first, with its own short deadline (connectWatch.ts): a port the
  // network drops ends in 3 s with the port named. Racing it beside fetch would not do: an
  // aborted fetch leaves its connection attempt running for undici's 10 s, and the process with it.
  const failure = await watchConnect(url, CHECKER_CONNECT_TIMEOUT_MS, signal);
  let response: Response | undefined;
  let fetchError: unknown;
  if (!failure) {
    try {
      response = await fetch(url, { ...init, signal });
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

/** Asks the checker to probe our public address on `ports`, with a proof key when listening. */
export function requestCheck(
  checker: URL,
  ports: string,
  proofKey: Uint8Array | undefined,
  options: AbortOptions = {},
): Promise<CheckResponse> {
  const body = { ports, ...(proofKey ? { proof: { key: Buffer.from(proofKey).toString('base64') } } : {}) };
  return call<CheckResponse>(
    new URL('/v1/check', checker),
    { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) },
    options,
  );
}

/** Our public address as the checker sees it. */
export function requestPublicIp(
  checker: URL,
  options: AbortOptions = {},
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
